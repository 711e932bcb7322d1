import { defineConfig } from 'vitest/config';

/**
 * The long reliability suite: `npm run test:chaos`. CLERK_CHAOS_SIZE=small (what .ci/run uses)
 * injects fewer faults into a smaller site.
 */
const small = process.env.CLERK_CHAOS_SIZE === 'small';

export default defineConfig({
  test: {
    include: ['test/chaos/**/*.test.ts'],
    pool: 'forks',
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 900_000,
    hookTimeout: 900_000,
    fileParallelism: false,
    provide: {
      chaos: small
        ? { size: 'small', documents: 4, pagesPerDocument: 3, workerKills: 6 }
        : { size: 'full', documents: 6, pagesPerDocument: 4, workerKills: 10 },
    },
  },
});
