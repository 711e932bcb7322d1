import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../src/db/embedded.js';
import { enqueueSite } from '../../src/temporal/site-runs.js';
import type { siteWorkflow } from '../../src/workflows/site.js';
import type { SiteStatus } from '../../src/workflows/types.js';
import { expectExactAccounting } from '../support/accounting.js';
import { serveChaosSite } from '../support/chaos.js';
import { createHarness, type Harness } from '../support/harness.js';

const SITE = 'postgres-restart.ca';

describe('Postgres stopped and restarted mid-run', () => {
  let harness: Harness;
  let postgres: EmbeddedPostgresHandle;
  let site: { totalPages: number; close(): Promise<void> };
  let status: SiteStatus;
  let runId: string;
  let failedAttempts = 0;

  beforeAll(async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'clerk-pg-restart-'));
    fs.chmodSync(root, 0o755);
    const pgOptions = { dataDir: path.join(root, 'pg'), port: 57000 + Math.floor(Math.random() * 2000), database: 'postgres' };
    postgres = await startEmbeddedPostgres(pgOptions);
    harness = await createHarness('pgrestart', {}, { postgresAdminUrl: postgres.url });
    site = await serveChaosSite(harness, SITE);
    await harness.startWorkers();
    const run = await enqueueSite(harness.client, harness.config, SITE);
    runId = run.runId;

    // Stop Postgres while pages are being OCR'd, keep it down for a few seconds, start it again.
    for (let polls = 0; polls < 1_200; polls++) {
      const row = await harness.db.selectFrom('pages').select('page_number').where('status', '=', 'done').executeTakeFirst();
      if (row) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await postgres.stop();
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    postgres = await startEmbeddedPostgres(pgOptions);

    status = await harness.client.workflow.getHandle<typeof siteWorkflow>(run.workflowId, run.runId).result();
    const histories = await import('../../src/temporal/histories.js').then((m) => m.collectHistories(harness.client, run.workflowId, run.runId));
    failedAttempts = histories
      .flatMap((h) => h.history.events ?? [])
      .filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1).length;
  });

  afterAll(async () => {
    await site?.close();
    await harness?.close();
    await postgres?.stop();
  });

  it('retries the activities that met the outage and completes with every page done', () => {
    expect(failedAttempts).toBeGreaterThan(0);
    expect(status.stage).toBe('completed');
    expect(status.pages).toEqual({ total: site.totalPages, done: site.totalPages, failed: 0 });
  });

  it('keeps the counts exact', async () => {
    await expectExactAccounting(harness.db, harness.client, SITE, status, runId);
  });
});
