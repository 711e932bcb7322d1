import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import { workerTypes, type WorkerType } from '../../src/activities/index.js';
import { loadConfig, type ClerkConfig } from '../../src/config/index.js';
import { connectDatabase, type Db } from '../../src/db/connect.js';
import { ensureDatabase } from '../../src/db/admin.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import type { DocumentStore } from '../../src/storage/document-store.js';
import { openDocumentStore } from '../../src/storage/open.js';
import { createWorkers, runWorkers, workflowsPath } from '../../src/workers/create.js';

export interface Harness {
  config: ClerkConfig;
  db: Db;
  databaseUrl: string;
  /** The store the config names: the local folder, or S3 when the env sets CLERK_STORAGE_URL=s3://... */
  store: DocumentStore;
  client: Client;
  dataDir: string;
  /** The environment that points a `clerk worker` process at this harness's services. */
  env: Record<string, string>;
  /** Runs in-process workers for the given types until the returned stop() is called. */
  startWorkers(types?: readonly WorkerType[], env?: Record<string, string>): Promise<{ workers: Worker[]; stop(): Promise<void> }>;
  close(): Promise<void>;
}

// Activity failures the tests provoke on purpose would otherwise flood the output as warnings.
Runtime.install({ logger: new DefaultLogger('ERROR') });

let sharedBundle: Promise<{ code: string }> | undefined;

/** The workflow bundle, built once per test file: each Worker.create would otherwise re-bundle. */
export function workflowBundle(): Promise<{ code: string }> {
  sharedBundle ??= bundleWorkflowCode({ workflowsPath, logger: quietLogger });
  return sharedBundle;
}

/**
 * A private slice of the shared real services for one test file: its own database (migrated),
 * its own data folder and its own task-queue prefix on the shared Temporal dev server.
 */
export async function createHarness(
  name: string,
  env: Record<string, string> = {},
  // Another Temporal server than the shared dev server (the cluster test's), or another Postgres.
  services: { postgresAdminUrl?: string; temporalAddress?: string } = {},
): Promise<Harness> {
  const suffix = randomBytes(3).toString('hex');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `clerk-${name}-`));
  const adminUrl = new URL(services.postgresAdminUrl ?? inject('postgresAdminUrl'));
  const database = `clerk_${name.replace(/\W/g, '_')}_${suffix}`;
  await ensureDatabase(adminUrl.href, database);
  const databaseUrl = Object.assign(new URL(adminUrl.href), { pathname: `/${database}` }).href;
  const baseEnv = {
    CLERK_DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: services.temporalAddress ?? inject('temporalAddress'),
    CLERK_TASK_QUEUE_PREFIX: `${name}-${suffix}-`,
    ...env,
  };
  const config = loadConfig(baseEnv, dataDir);
  const db = connectDatabase(databaseUrl);
  await migrateToLatest(db);
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const store = openDocumentStore(config);
  const stops: (() => Promise<void>)[] = [];

  return {
    config,
    db,
    databaseUrl,
    store,
    client,
    dataDir,
    env: baseEnv,
    async startWorkers(types = workerTypes, extraEnv = {}) {
      const workerConfig = loadConfig({ ...baseEnv, ...extraEnv }, dataDir);
      const nativeConnection = await NativeConnection.connect({ address: config.temporal.address });
      const running = await createWorkers({
        config: workerConfig,
        connection: nativeConnection,
        deps: { db, store, config: workerConfig },
        types,
        workflowBundle: await workflowBundle(),
      });
      const done = runWorkers(running);
      const stop = async () => {
        for (const worker of running.workers) if (worker.getState() === 'RUNNING') worker.shutdown();
        await done;
        await nativeConnection.close();
      };
      stops.push(stop);
      return { workers: running.workers, stop };
    },
    async close() {
      for (const stop of stops.reverse()) await stop().catch(() => {});
      await connection.close();
      await db.destroy();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** For bundling: the bundler's progress would drown the test output. */
export const quietLogger = {
  log() {},
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error(message: string) {
    console.error(message);
  },
};
