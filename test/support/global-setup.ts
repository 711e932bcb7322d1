import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { loadConfig } from '../../src/config/index.js';
import { startEmbeddedPostgres } from '../../src/db/embedded.js';
import { startTemporalDevServer } from '../../src/dev/temporal-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A superuser URL of the test Postgres; each test file creates its own database from it. */
    postgresAdminUrl: string;
    temporalAddress: string;
  }
}

/**
 * One real Postgres (embedded, in a fresh temporary cluster) and one real Temporal dev server
 * for the whole run. Test files keep apart by database name and task-queue prefix.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'clerk-test-'));
  fs.chmodSync(root, 0o755);
  const port = 55000 + Math.floor(Math.random() * 4000);
  const postgres = await startEmbeddedPostgres({ dataDir: path.join(root, 'postgres'), port, database: 'postgres' });
  const config = loadConfig({ CLERK_DATA_DIR: root, TEMPORAL_ADDRESS: '127.0.0.1:0' }, root);
  const temporal = await startTemporalDevServer(config, { persist: false, port: 0, uiPort: port + 1 });
  project.provide('postgresAdminUrl', postgres.url);
  project.provide('temporalAddress', temporal.address);
  return async () => {
    await temporal.stop();
    await postgres.stop();
    fs.rmSync(root, { recursive: true, force: true });
  };
}
