import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { siteStatusReport } from '../../src/cli/commands/status.js';
import { loadConfig } from '../../src/config/index.js';
import { writeSampleSite } from '../../src/samples/sample-site.js';
import { serveDirectory } from '../../src/samples/static-server.js';
import { saveSite } from '../../src/sites/repository.js';
import { connectClient } from '../../src/temporal/connection.js';
import { clientRunReader, enqueueSite, type SiteRunReader } from '../../src/temporal/site-runs.js';
import { connectSiteRuns, siteStatusRpcDescriptor, type SiteRunConnection } from '../../src/temporal/site-status-rpc.js';
import { siteWorkflowId } from '../../src/workflows/types.js';
import { runBrokenSite } from '../support/broken-site.js';
import { createHarness, type Harness } from '../support/harness.js';

// Counts every connection of the SDK's client, to tell when the direct calls fell back to it.
vi.mock('../../src/temporal/connection.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/temporal/connection.js')>();
  return { ...original, connectClient: vi.fn(original.connectClient) };
});

/** Waits in the OCR stage: no OCR worker runs, so its workflow stays open and answers the status query. */
const RUNNING = 'running-rpc.ca';
/** Its listing is gone: the run failed in the fetch stage. */
const FAILED = 'failed-rpc.ca';
/** Registered, never enqueued: Temporal has no workflow for it. */
const NEVER_RUN = 'never-rpc.ca';

let harness: Harness;
let server: { url: string; close(): Promise<void> };
let direct: SiteRunConnection;
let sdk: SiteRunReader;

beforeAll(async () => {
  harness = await createHarness('status-rpc');
  const siteDir = path.join(harness.dataDir, 'site');
  await writeSampleSite(siteDir, { subdomain: RUNNING });
  server = await serveDirectory(siteDir);
  await saveSite(harness.db, { subdomain: RUNNING, name: 'Running', fetcher: 'http-index', sourceUrl: `${server.url}/index.html` });
  await saveSite(harness.db, { subdomain: NEVER_RUN, name: 'Never run', fetcher: 'http-index', sourceUrl: `${server.url}/index.html` });
  await harness.startWorkers(['workflows', 'fetch', 'extraction', 'deploy']);
  await runBrokenSite(harness, FAILED, server.url);
  await enqueueSite(harness.client, harness.config, RUNNING);
  for (let tries = 0; ; tries++) {
    const row = await harness.db.selectFrom('site_progress').select('current_stage').where('subdomain', '=', RUNNING).executeTakeFirst();
    if (row?.current_stage === 'ocr') break;
    if (tries > 600) throw new Error(`${RUNNING} never reached the OCR stage`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  sdk = clientRunReader(harness.client);
  vi.mocked(connectClient).mockClear();
  direct = await connectSiteRuns(harness.config);
});

afterAll(async () => {
  await direct?.close();
  await server?.close();
  await harness?.close();
});

describe("`clerk status <site>`'s direct calls to Temporal", () => {
  it('are made from messages read out of the installed SDK', async () => {
    const descriptor = await siteStatusRpcDescriptor();
    expect(descriptor).toMatchObject({ queryType: 'status', clientName: 'temporal-typescript', statusNames: { 1: 'RUNNING', 4: 'CANCELLED' } });
  });

  it.each([
    ['an open run', RUNNING],
    ['a failed run', FAILED],
    ['a site that never ran', NEVER_RUN],
  ])('describe %s and answer its status query as the SDK client does', async (_, subdomain) => {
    // One after the other: two queries at once can fill the workflow's query buffer (RESOURCE_EXHAUSTED).
    expect(await direct.describeRun(siteWorkflowId(subdomain))).toEqual(await sdk.describeRun(siteWorkflowId(subdomain)));
    expect(await direct.querySiteStatus(subdomain)).toEqual(await sdk.querySiteStatus(subdomain));
    expect(connectClient).not.toHaveBeenCalled();
  });

  it('read the runs the way the cases above expect', async () => {
    expect(await direct.describeRun(siteWorkflowId(RUNNING))).toMatchObject({ status: 'RUNNING' });
    expect(await direct.querySiteStatus(RUNNING)).toMatchObject({ subdomain: RUNNING, stage: 'ocr' });
    expect(await direct.describeRun(siteWorkflowId(FAILED))).toMatchObject({ status: 'FAILED' });
    expect(await direct.querySiteStatus(FAILED)).toMatchObject({ subdomain: FAILED, stage: 'failed' });
    expect(await direct.describeRun(siteWorkflowId(NEVER_RUN))).toBeUndefined();
    expect(await direct.querySiteStatus(NEVER_RUN)).toBeUndefined();
  });

  it("give the same site report, failures and links included, as the SDK's client", async () => {
    const config = harness.config;
    expect(await siteStatusReport(direct, harness.db, config, RUNNING)).toEqual(await siteStatusReport(sdk, harness.db, config, RUNNING));
    const directFailed = await siteStatusReport(direct, harness.db, config, FAILED);
    expect(directFailed).toEqual(await siteStatusReport(sdk, harness.db, config, FAILED));
    expect(directFailed.failures.totals.runs).toBe(1);
  });

  it("leave a namespace the server does not know to the SDK's client, and give its error", async () => {
    const config = loadConfig({ ...harness.env, TEMPORAL_NAMESPACE: 'no-such-namespace' }, harness.dataDir);
    const sdkError = await connectClient(config).then((client) => clientRunReader(client).describeRun(siteWorkflowId(RUNNING)).finally(() => client.connection.close())).catch((error: unknown) => error);
    vi.mocked(connectClient).mockClear();
    const elsewhere = await connectSiteRuns(config);
    try {
      const directError = await elsewhere.describeRun(siteWorkflowId(RUNNING)).catch((error: unknown) => error);
      expect(directError).toBeInstanceOf(Error);
      expect(directError).toEqual(sdkError);
      expect((directError as Error).name).toBe('NamespaceNotFoundError');
      expect(connectClient).toHaveBeenCalledTimes(1);
    } finally {
      await elsewhere.close();
    }
  });

  it('say Temporal is unreachable in the words the SDK client path uses', async () => {
    const config = loadConfig({ ...harness.env, TEMPORAL_ADDRESS: '127.0.0.1:9' }, harness.dataDir);
    const [directError, sdkError] = await Promise.all([connectSiteRuns(config).catch((error: unknown) => error), connectClient(config).catch((error: unknown) => error)]);
    expect(directError).toMatchObject({ name: 'TemporalUnreachableError' });
    expect((directError as Error).message).toBe((sdkError as Error).message);
  });
});
