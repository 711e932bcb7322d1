import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import {
  dropTemporalDatabases,
  findFreeClusterPort,
  findOrBuildTemporalServer,
  setupTemporalSchema,
  startTemporalCluster,
  temporalPostgresFromUrl,
  type TemporalCluster,
  type TemporalClusterOptions,
  type TemporalPostgres,
  type TemporalServerBinaries,
} from '../../src/dev/temporal-cluster.js';
import { enqueueSite } from '../../src/temporal/site-runs.js';
import type { siteWorkflow } from '../../src/workflows/site.js';
import type { SiteStatus } from '../../src/workflows/types.js';
import { expectExactAccounting } from '../support/accounting.js';
import { createHarness, type Harness } from '../support/harness.js';
import { donePageCount, runningOcrJobIds, waitFor } from '../support/ocr-run.js';
import { serveScannedSite } from '../support/scanned-site.js';

const SITE = 'clusterville.ca';
// Building the server takes about 6 minutes on a machine that never built it (CI builds it first: setup --with-cluster).
const BUILD_TIMEOUT_MS = 15 * 60_000;

describe('clerk on the Temporal server binary with Postgres persistence, restarted mid-run', () => {
  let binaries: TemporalServerBinaries;
  let postgres: TemporalPostgres;
  let clusterOptions: TemporalClusterOptions;
  let cluster: TemporalCluster | undefined;
  let harness: Harness;
  let site: { totalPages: number; close(): Promise<void> };
  let schemaVersionsBefore: string[];
  let pagesDoneAtRestart = -1;
  let status: SiteStatus;
  let runId: string;

  beforeAll(async () => {
    binaries = await findOrBuildTemporalServer(loadConfig(), (line) => console.log(line));
    // Temporal's two databases beside the test's own, named apart from any other run's.
    postgres = temporalPostgresFromUrl(inject('postgresAdminUrl'), `t${randomBytes(3).toString('hex')}_`);
    await setupTemporalSchema(binaries, postgres);
    schemaVersionsBefore = await schemaVersions(postgres);
    const rootDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clerk-cluster-'));
    clusterOptions = { rootDir, host: '127.0.0.1', port: await findFreeClusterPort(), postgres, namespace: 'default' };
    cluster = await startTemporalCluster(binaries, clusterOptions);

    harness = await createHarness('cluster', {}, { temporalAddress: cluster.address });
    site = await serveScannedSite(harness, SITE, { documents: 2, pagesPerDocument: 3 });
    await harness.startWorkers();
    const run = await enqueueSite(harness.client, harness.config, SITE);
    runId = run.runId;

    // Stop the whole server once OCR is under way (a page done, another in flight), then start it
    // again on the same databases: the workers reconnect and the run carries on.
    await waitFor(async () => (await donePageCount(harness, SITE)) >= 1 && (await runningOcrJobIds(harness)).length > 0, 'OCR under way');
    pagesDoneAtRestart = await donePageCount(harness, SITE);
    await cluster.stop();
    cluster = undefined;
    cluster = await startTemporalCluster(binaries, clusterOptions);

    status = await harness.client.workflow.getHandle<typeof siteWorkflow>(run.workflowId, run.runId).result();
  }, BUILD_TIMEOUT_MS);

  afterAll(async () => {
    await harness?.close();
    await site?.close();
    await cluster?.stop();
    if (postgres) await dropTemporalDatabases(binaries, postgres);
    if (clusterOptions) fs.rmSync(clusterOptions.rootDir, { recursive: true, force: true });
  });

  it('restarted the server with OCR part done', () => {
    expect(pagesDoneAtRestart).toBeGreaterThanOrEqual(1);
    expect(pagesDoneAtRestart).toBeLessThan(site.totalPages);
  });

  it('completes the site with every page done once, and exact counts everywhere', async () => {
    expect(status.stage).toBe('completed');
    expect(status.pages).toEqual({ total: site.totalPages, done: site.totalPages, failed: 0 });
    expect(status.documents).toEqual({ total: 2, done: 2, failed: 0 });
    await expectExactAccounting(harness.db, harness.client, SITE, status, runId);
  });

  it('finds the site run and its document workflows with a ClerkSite query', async () => {
    // Visibility rows are written after the fact (transfer tasks): poll until the closed run shows.
    let listed: { workflowId: string; status: string }[] = [];
    await waitFor(async () => {
      listed = [];
      for await (const workflow of harness.client.workflow.list({ query: `ClerkSite = "${SITE}"` })) {
        listed.push({ workflowId: workflow.workflowId, status: workflow.status.name });
      }
      return listed.some((w) => w.workflowId === `site/${SITE}` && w.status === 'COMPLETED');
    }, 'the site run listed as completed');
    const documentRuns = listed.filter((w) => w.workflowId.startsWith(`site/${SITE}/doc/`));
    expect(documentRuns.length).toBeGreaterThanOrEqual(2);
    expect((await harness.client.workflow.count(`ClerkSite = "elsewhere.ca"`)).count).toBe(0);
  });

  it('sets the schema up again as a no-op', async () => {
    await setupTemporalSchema(binaries, postgres);
    expect(await schemaVersions(postgres)).toEqual(schemaVersionsBefore);
  });
});

/** Both databases' schema versions, as temporal-sql-tool records them. */
async function schemaVersions(postgres: TemporalPostgres): Promise<string[]> {
  const versions: string[] = [];
  for (const database of [postgres.databases!.main, postgres.databases!.visibility]) {
    const client = new pg.Client({ host: postgres.host, port: postgres.port, user: postgres.user, password: postgres.password, database });
    await client.connect();
    try {
      const { rows } = await client.query<{ curr_version: string }>('select curr_version from schema_version');
      versions.push(`${database}: ${rows.map((r) => r.curr_version).join(',')}`);
    } finally {
      await client.end();
    }
  }
  return versions;
}
