import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it, type TestContext } from 'vitest';
import { loadConfig, type ClerkConfig } from '../../src/config/index.js';
import { startMinio, type RunningMinio } from '../../src/dev/minio.js';
import {
  dropTemporalDatabases,
  findFreeClusterPort,
  findOrBuildTemporalServer,
  setupTemporalSchema,
  startTemporalCluster,
  temporalPostgresFromUrl,
  type TemporalCluster,
  type TemporalPostgres,
} from '../../src/dev/temporal-cluster.js';
import { serveDirectory, type StaticServer } from '../../src/samples/static-server.js';
import { openDocumentStore } from '../../src/storage/open.js';
import { enqueueSite } from '../../src/temporal/site-runs.js';
import { createWorkers, runWorkers } from '../../src/workers/create.js';
import type { siteWorkflow } from '../../src/workflows/site.js';
import type { SiteStatus } from '../../src/workflows/types.js';
import { expectExactAccounting } from '../support/accounting.js';
import { clerkBin, runClerk } from '../support/cli.js';
import { createHarness, workflowBundle, type Harness } from '../support/harness.js';
import { canCreateNamespaces, createHostNetwork, type HostNetwork } from '../support/netns.js';
import { donePageCount, waitFor } from '../support/ocr-run.js';
import { writeScannedSite } from '../support/scanned-site.js';
import { forwardTcp, type TcpForward } from '../support/tcp-forward.js';

/**
 * Workers on several hosts (issue 16): three OCR worker hosts, each a network namespace with its own
 * address, data folder and document cache, sharing nothing but the network. Temporal, MinIO (the
 * document store) and Postgres are reachable only at the bridge address; the test process runs
 * the workflow, fetch, extraction and deploy workers, so only OCR runs on the hosts.
 */
const HOSTS = ['host-a', 'host-b', 'host-c'] as const;
const LOST_HOST = 'host-b';
/** Enough pages that every host gets some, with one OCR page at a time per host: three hosts on two cores. */
const SHAPE = { documents: 3, pagesPerDocument: 6 };

/** Building the Temporal server and MinIO takes minutes on a machine that never built them (CI builds them in setup). */
const SERVICES_TIMEOUT_MS = 20 * 60_000;

/** CLERK_TEST_NETNS=off forces the loopback fallback, to check it on a machine that has namespaces. */
const namespaces = process.env.CLERK_TEST_NETNS !== 'off' && canCreateNamespaces();
const FALLBACK_NOTE =
  'network namespaces are not available (needs root and `ip netns`): the hosts are separate processes on loopback with separate data and cache folders, and host loss is a kill without a network cut';

describe(`OCR workers on ${HOSTS.length} hosts${namespaces ? ' in network namespaces' : ' (loopback fallback)'}, sharing documents through MinIO`, () => {
  let network: HostNetwork;
  let temporal: TemporalCluster;
  let temporalPostgres: TemporalPostgres;
  /** The Temporal server's config and log, and each host's worker log: kept when a test fails. */
  const logsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clerk-multihost-logs-'));
  let failed = false;
  let dropTemporalState: (() => Promise<void>) | undefined;
  let minio: RunningMinio;
  let postgres: TcpForward;
  let harness: Harness;
  let root: string;
  let siteServer: StaticServer;
  let stopLocalWorkers: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    if (!namespaces) console.warn(`multi-host test: ${FALLBACK_NOTE}`);
    network = createHostNetwork(HOSTS, { namespaces });
    const serviceAddress = network.serviceAddress;

    // The services every host shares, reachable at the bridge address only: the Temporal server
    // (the production binary, its state in Postgres), MinIO, and Postgres through a forward.
    const adminUrl = inject('postgresAdminUrl');
    const binaries = await findOrBuildTemporalServer(loadConfig(), (line) => console.log(line));
    temporalPostgres = temporalPostgresFromUrl(adminUrl, `mh${randomBytes(3).toString('hex')}_`);
    await setupTemporalSchema(binaries, temporalPostgres);
    temporal = await startTemporalCluster(binaries, {
      rootDir: path.join(logsDir, 'temporal'),
      host: serviceAddress,
      port: await findFreeClusterPort(serviceAddress),
      postgres: temporalPostgres,
      namespace: 'default',
    });
    dropTemporalState = () => dropTemporalDatabases(binaries, temporalPostgres);
    minio = await startMinio({ host: serviceAddress, bucket: 'clerk-multihost' });
    const adminTarget = new URL(adminUrl);
    postgres = await forwardTcp({ host: serviceAddress }, { host: adminTarget.hostname, port: Number(adminTarget.port) });

    const storageEnv = {
      CLERK_STORAGE_URL: `s3://${minio.bucket}/documents`,
      CLERK_S3_ENDPOINT: minio.endpoint,
      CLERK_S3_ACCESS_KEY_ID: minio.accessKeyId,
      CLERK_S3_SECRET_ACCESS_KEY: minio.secretAccessKey,
    };
    harness = await createHarness('multihost', { TEMPORAL_ADDRESS: temporal.address, ...storageEnv });
    root = harness.dataDir;

    // The test process runs every queue but OCR, as its own "host".
    const localConfig = loadConfig({ ...harness.env, CLERK_HOST: 'test-process', CLERK_CACHE_DIR: path.join(root, 'test-process', 'cache') }, root);
    stopLocalWorkers = await startLocalWorkers(harness, localConfig);

    // Each host: its own data folder (and so its own storage and cache folders), reaching the
    // database through the forward, Temporal and MinIO at the bridge address.
    const databaseUrl = Object.assign(new URL(harness.databaseUrl), { hostname: postgres.host, port: String(postgres.port) }).href;
    await Promise.all(
      HOSTS.map(async (host) => {
        const hostDir = path.join(root, host);
        fs.mkdirSync(hostDir, { recursive: true });
        const env = {
          ...harness.env,
          ...storageEnv,
          DATABASE_URL: databaseUrl,
          CLERK_DATA_DIR: hostDir,
          CLERK_CACHE_DIR: path.join(hostDir, 'cache'),
          CLERK_HOST: host,
          CLERK_OCR_CONCURRENCY: '1',
        };
        await startHostWorker(network, host, env, path.join(logsDir, `${host}.log`));
      }),
    );

    fs.mkdirSync(path.join(root, 'sites'));
    siteServer = await serveDirectory(path.join(root, 'sites'), { host: serviceAddress });
  }, SERVICES_TIMEOUT_MS);

  beforeEach((context) => {
    context.onTestFailed(() => {
      failed = true;
    });
  });

  afterAll(async () => {
    // The hosts first, then what they used; the bridge (and with it the services' address) last.
    for (const host of HOSTS) await network?.killHost(host);
    await stopLocalWorkers?.();
    await siteServer?.close();
    await harness?.close();
    await postgres?.close();
    await minio?.stop();
    await temporal?.stop();
    await dropTemporalState?.();
    await network?.close();
    if (failed) console.error(`multi-host: the Temporal server's and the hosts' logs are kept in ${logsDir}`);
    else fs.rmSync(logsDir, { recursive: true, force: true });
  });

  /** Writes a scanned site, registers it with `clerk site add` at the bridge address, runs it and waits for its end. */
  async function runSite(subdomain: string, duringRun: () => Promise<void> = async () => {}): Promise<{ status: SiteStatus; runId: string; totalPages: number }> {
    const { totalPages } = await writeScannedSite(path.join(root, 'sites', subdomain), SHAPE);
    const added = await runClerk(
      ['site', 'add', subdomain, '--fetcher', 'http-index', '--url', `${siteServer.url}/${subdomain}/index.html`, '--setting', 'request_delay_ms=0'],
      harness.env,
    );
    expect(added.code, added.stderr).toBe(0);
    const run = await enqueueSite(harness.client, harness.config, subdomain);
    await duringRun();
    const status = await harness.client.workflow.getHandle<typeof siteWorkflow>(run.workflowId, run.runId).result();
    return { status, runId: run.runId, totalPages };
  }

  async function ocrAttemptsByHost(subdomain: string): Promise<Record<string, Record<string, number>>> {
    const rows = await harness.db
      .selectFrom('job_tracking')
      .select(['host', 'status', (eb) => eb.fn.countAll<string>().as('attempts')])
      .where('subdomain', '=', subdomain)
      .where('job_type', '=', 'ocrPage')
      .groupBy(['host', 'status'])
      .execute();
    const byHost: Record<string, Record<string, number>> = {};
    for (const row of rows) (byHost[row.host ?? 'unknown'] ??= {})[row.status] = Number(row.attempts);
    return byHost;
  }

  it('spreads a site’s OCR over the hosts, every page done once and the counts exact', async (context) => {
    await noteFallback(context);
    const subdomain = 'spread.multihost.test';
    const { status, runId, totalPages } = await runSite(subdomain);

    expect(status.stage).toBe('completed');
    expect(status.pages).toEqual({ total: totalPages, done: totalPages, failed: 0 });
    await expectExactAccounting(harness.db, harness.client, subdomain, status, runId);

    const byHost = await ocrAttemptsByHost(subdomain);
    console.info(`multi-host: OCR page attempts by host and outcome: ${JSON.stringify(byHost)}`);
    const hostsThatOcred = Object.entries(byHost).filter(([, outcomes]) => (outcomes.succeeded ?? 0) > 0);
    expect(hostsThatOcred.length).toBeGreaterThan(1);
    for (const [host] of hostsThatOcred) expect(HOSTS).toContain(host);
    expect(successes(byHost)).toBe(totalPages);
  });

  it('finishes a site on the remaining hosts when one host dies mid-OCR, and records its attempts as lost', async (context) => {
    await noteFallback(context);
    const subdomain = 'loss.multihost.test';
    let doneWhenLost = 0;
    const { status, runId, totalPages } = await runSite(subdomain, async () => {
      // Some pages done, others not, and the host to lose in the middle of one.
      await waitFor(async () => {
        const done = await donePageCount(harness, subdomain);
        return done > 0 && done < SHAPE.documents * SHAPE.pagesPerDocument && (await runningOcrOn(LOST_HOST, subdomain)) > 0;
      }, `${LOST_HOST} OCRing a page of ${subdomain} with some pages done`);
      doneWhenLost = await donePageCount(harness, subdomain);
      // A crashed machine: its processes die (their connections close), then its network goes.
      await network.killHost(LOST_HOST);
      if (network.isolated) network.cut(LOST_HOST);
    });

    expect(doneWhenLost).toBeLessThan(totalPages);
    expect(status.stage).toBe('completed');
    expect(status.pages).toEqual({ total: totalPages, done: totalPages, failed: 0 });
    await expectExactAccounting(harness.db, harness.client, subdomain, status, runId);

    const byHost = await ocrAttemptsByHost(subdomain);
    console.info(`multi-host: after losing ${LOST_HOST} with ${doneWhenLost}/${totalPages} pages done: ${JSON.stringify(byHost)}`);
    expect(byHost[LOST_HOST]?.lost ?? 0).toBeGreaterThanOrEqual(1);
    expect(byHost[LOST_HOST]?.running ?? 0).toBe(0);
    expect(successes(byHost)).toBe(totalPages);
    // Every attempt the lost host left unfinished was run again, and succeeded, on another host.
    const lost = await harness.db
      .selectFrom('job_tracking')
      .selectAll()
      .where('subdomain', '=', subdomain)
      .where('host', '=', LOST_HOST)
      .where('status', '=', 'lost')
      .execute();
    for (const attempt of lost) {
      const retried = await harness.db
        .selectFrom('job_tracking')
        .select(['status', 'host'])
        .where('workflow_id', '=', attempt.workflow_id)
        .where('activity_id', '=', attempt.activity_id)
        .where('attempt', '>', attempt.attempt)
        .where('status', '=', 'succeeded')
        .execute();
      expect(retried.map((r) => r.host)).toHaveLength(1);
      expect(retried[0]!.host).not.toBe(LOST_HOST);
    }
  });

  async function runningOcrOn(host: string, subdomain: string): Promise<number> {
    const rows = await harness.db
      .selectFrom('job_tracking')
      .select('job_id')
      .where('subdomain', '=', subdomain)
      .where('job_type', '=', 'ocrPage')
      .where('status', '=', 'running')
      .where('host', '=', host)
      .execute();
    return rows.length;
  }
});

async function noteFallback(context: TestContext): Promise<void> {
  if (!namespaces) await context.annotate(FALLBACK_NOTE, 'warning');
}

/** One success per page, wherever it ran. */
function successes(byHost: Record<string, Record<string, number>>): number {
  return Object.values(byHost).reduce((sum, outcomes) => sum + (outcomes.succeeded ?? 0), 0);
}

/** `clerk worker ocr` inside the host, as a host's service manager would run it; resolves once it polls. */
async function startHostWorker(network: HostNetwork, host: string, env: Record<string, string>, logPath: string): Promise<void> {
  const child = network.spawnIn(host, process.execPath, [clerkBin, 'worker', 'ocr', '--log-format', 'json'], env);
  const log = fs.createWriteStream(logPath);
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      log.write(chunk);
      output = (output + chunk.toString()).slice(-20_000);
      if (output.includes('worker ocr polling')) resolve();
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      log.write(chunk);
      output = (output + chunk.toString()).slice(-20_000);
    });
    child.once('exit', (code, signal) => reject(new Error(`the OCR worker on ${host} exited before polling (${code ?? signal}): ${output.slice(-2_000)}`)));
  });
}

/** The workflow, fetch, extraction and deploy workers in this process, on the store the configuration names. */
async function startLocalWorkers(harness: Harness, config: ClerkConfig): Promise<() => Promise<void>> {
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const running = await createWorkers({
    config,
    connection,
    deps: { db: harness.db, store: openDocumentStore(config), config },
    types: ['workflows', 'fetch', 'extraction', 'deploy'],
    workflowBundle: await workflowBundle(),
  });
  const done = runWorkers(running);
  return async () => {
    for (const worker of running.workers) if (worker.getState() === 'RUNNING') worker.shutdown();
    await done;
    await connection.close();
  };
}
