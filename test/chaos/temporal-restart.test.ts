import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { startTemporalDevServer, type DevServer } from '../../src/dev/temporal-server.js';
import { enqueueSite } from '../../src/temporal/site-runs.js';
import type { siteWorkflow } from '../../src/workflows/site.js';
import type { SiteStatus } from '../../src/workflows/types.js';
import { expectExactAccounting } from '../support/accounting.js';
import { serveChaosSite } from '../support/chaos.js';
import { createHarness, type Harness } from '../support/harness.js';
import { freePort } from '../../src/dev/probes.js';

const SITE = 'temporal-restart.ca';

describe('the Temporal dev server stopped and restarted mid-run, on its --db-filename', () => {
  let harness: Harness;
  let server: DevServer;
  let site: { totalPages: number; close(): Promise<void> };
  let status: SiteStatus;
  let runId: string;
  let restarts = 0;

  beforeAll(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clerk-temporal-restart-'));
    const port = await freePort();
    const serverConfig = loadConfig({ CLERK_DATA_DIR: dir, TEMPORAL_ADDRESS: `127.0.0.1:${port}` }, dir);
    const startServer = () => startTemporalDevServer(serverConfig, { persist: true, uiPort: port + 1 });
    server = await startServer();
    harness = await createHarness('temporalrestart', { TEMPORAL_ADDRESS: server.address });
    site = await serveChaosSite(harness, SITE);
    await harness.startWorkers();
    const run = await enqueueSite(harness.client, harness.config, SITE);
    runId = run.runId;

    // Stop the server once OCR has started, leave it down a moment, bring it back on the same file.
    await waitForOcr(harness);
    await server.stop();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    server = await startServer();
    restarts++;

    // The harness's client connection died with the server: use a fresh one.
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection, namespace: harness.config.temporal.namespace });
    status = await client.workflow.getHandle<typeof siteWorkflow>(run.workflowId, run.runId).result();
    await expectExactAccounting(harness.db, client, SITE, status, runId);
    await connection.close();
  });

  afterAll(async () => {
    await site?.close();
    await harness?.close();
    await server?.stop();
  });

  it('completes the run after the restart with every page done and exact counts', () => {
    expect(restarts).toBe(1);
    expect(status.stage).toBe('completed');
    expect(status.pages).toEqual({ total: site.totalPages, done: site.totalPages, failed: 0 });
  });
});

async function waitForOcr(harness: Harness): Promise<void> {
  for (let polls = 0; polls < 1_200; polls++) {
    const row = await harness.db.selectFrom('job_tracking').select('id').where('job_type', '=', 'ocrPage').executeTakeFirst();
    if (row) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('OCR never started');
}

