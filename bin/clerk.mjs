#!/usr/bin/env node
// Runs the compiled CLI (dist/cli/main.mjs, built by bin/build.mjs from `npm run setup`) while it was
// built from the sources exactly as they are now; otherwise the TypeScript through tsx, so the
// repository works without a build and an edit under src/ is never hidden by an old build.
// CLERK_CLI=tsx forces the TypeScript; CLERK_CLI_TRACE=1 prints which one runs, and why, on stderr.
import { pathToFileURL } from 'node:url';
import { buildState, cliPath } from './build.mjs';

const state = process.env.CLERK_CLI === 'tsx' ? { fresh: false, reason: 'CLERK_CLI=tsx' } : buildState();
if (process.env.CLERK_CLI_TRACE === '1') console.error(`clerk: running ${state.fresh ? 'the compiled CLI' : 'the TypeScript through tsx'}: ${state.reason}`);

// Fetcher plugins (CLERK_FETCHER_PLUGINS) may be TypeScript: the compiled CLI loads them through tsx too.
if (!state.fresh || process.env.CLERK_FETCHER_PLUGINS) {
  const { register } = await import('tsx/esm/api');
  register();
}
if (state.fresh) {
  process.setSourceMapsEnabled(true);
  await import(pathToFileURL(cliPath).href);
} else {
  await import('../src/cli/main.ts');
}
