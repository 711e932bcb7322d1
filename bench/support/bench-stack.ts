import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { workerTypes } from '../../src/activities/index.js';
import { loadConfig, type ClerkConfig } from '../../src/config/index.js';
import { connectDatabase, type Db } from '../../src/db/connect.js';
import { startEmbeddedPostgres } from '../../src/db/embedded.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { startTemporalDevServer } from '../../src/dev/temporal-server.js';
import { LocalFolderStore } from '../../src/storage/local-folder-store.js';
import { createWorkers, runWorkers } from '../../src/workers/create.js';
import { quietLogger } from './quiet-logger.js';

export interface BenchStack {
  config: ClerkConfig;
  db: Db;
  store: LocalFolderStore;
  client: Client;
  root: string;
  close(): Promise<void>;
}

let runtimeQuiet = false;

/**
 * A throwaway copy of the real stack for one benchmark: an embedded Postgres, an in-memory
 * Temporal dev server and workers for every queue in this process.
 */
export async function startBenchStack(env: Record<string, string> = {}): Promise<BenchStack> {
  if (!runtimeQuiet) {
    // The SDK's core logs through the quiet logger too (as `clerk worker` forwards them to its own),
    // at the SDK's default levels: left to the console, its warnings (an activity finishing after
    // its run was terminated, say) reach a benchmark's output.
    Runtime.install({ logger: quietLogger, telemetryOptions: { logging: { forward: {} } } });
    runtimeQuiet = true;
  }
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'clerk-bench-'));
  fs.chmodSync(root, 0o755);
  const port = 56000 + Math.floor(Math.random() * 3000);
  const postgres = await startEmbeddedPostgres({ dataDir: path.join(root, 'postgres'), port });
  const config = loadConfig({ CLERK_DATA_DIR: root, DATABASE_URL: postgres.url, TEMPORAL_ADDRESS: '127.0.0.1:0', ...env }, root);
  const temporal = await startTemporalDevServer(config, { persist: false, port: 0, uiPort: port + 1 });
  const liveConfig = loadConfig({ CLERK_DATA_DIR: root, DATABASE_URL: postgres.url, TEMPORAL_ADDRESS: temporal.address, ...env }, root);
  const db = connectDatabase(postgres.url, { maxConnections: 20 });
  await migrateToLatest(db);
  const store = new LocalFolderStore(liveConfig.storageDir);
  const nativeConnection = await NativeConnection.connect({ address: temporal.address });
  const running = await createWorkers({ config: liveConfig, connection: nativeConnection, deps: { db, store, config: liveConfig }, types: workerTypes });
  const workersDone = runWorkers(running);
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection, namespace: liveConfig.temporal.namespace });
  return {
    config: liveConfig,
    db,
    store,
    client,
    root,
    async close() {
      for (const worker of running.workers) if (worker.getState() === 'RUNNING') worker.shutdown();
      await workersDone;
      await nativeConnection.close();
      await connection.close();
      await db.destroy();
      await temporal.stop();
      await postgres.stop();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Samples this process's resident memory, for the peak worker RSS figure. */
export function trackPeakRss(everyMs = 250): { stop(): number } {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), everyMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage().rss);
    },
  };
}
