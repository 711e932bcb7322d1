import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Info } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFetchActivities, LISTING_CHECK_DEADLINE_MS, type FetchSiteInput } from '../../src/activities/fetch.js';
import { fixturePdf } from '../../src/samples/platforms/documents.js';
import { documentPath, renderIndexPage, type IndexListing } from '../../src/samples/sample-site.js';
import { serveDirectory } from '../../src/samples/static-server.js';
import { saveSite } from '../../src/sites/repository.js';
import { createHarness, type Harness } from '../support/harness.js';

/**
 * The site run's listing check (fetchSiteIfNothingToDownload, a local activity in the run's first
 * workflow task): against a site served over HTTP and real Postgres, called as the workers call it.
 * It does the whole fetch of a site with nothing to download, and leaves every other case to
 * fetchSite with nothing recorded but the run's start.
 */

const SITE = 'listed.ca';
const HANGING = 'hanging.ca';

let harness: Harness;
let siteDir: string;
let listings: IndexListing[];
let fetchActivities: ReturnType<typeof createFetchActivities>;
const closers: (() => Promise<void>)[] = [];

/** Runs one of the fetch activities for a run of `site`, first scheduled at `scheduledAt`. */
function runActivity<T>(activityType: 'fetchSite' | 'fetchSiteIfNothingToDownload', site: string, run: { runId: string; scheduledAt: Date }): Promise<T> {
  const info: Partial<Info> = {
    activityType,
    isLocal: activityType === 'fetchSiteIfNothingToDownload',
    workflowExecution: { workflowId: `site/${site}`, runId: run.runId },
    scheduledTimestampMs: run.scheduledAt.getTime(),
  };
  const environment = new MockActivityEnvironment(info, { logger: new DefaultLogger('ERROR') });
  const activity = fetchActivities[activityType] as (input: FetchSiteInput) => Promise<T>;
  return environment.run(activity, { subdomain: site, startsRun: { workflowId: `site/${site}`, runId: run.runId } });
}

type CheckResult = { fetched: true; fetch: { listed: number; downloaded: number; unchanged: number } } | { fetched: false; reason: string };

async function addDocument(meeting: string, daysAgo: number): Promise<void> {
  const date = new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
  const listing = { kind: 'minutes' as const, meeting, date };
  const relative = documentPath(listing);
  await fs.mkdir(path.dirname(path.join(siteDir, relative)), { recursive: true });
  await fs.writeFile(path.join(siteDir, relative), await fixturePdf('minutes', meeting, date));
  listings.push({ ...listing, path: relative });
  await fs.writeFile(path.join(siteDir, 'index.html'), renderIndexPage('Listed', listings));
}

const documentCount = async (site: string) => (await harness.db.selectFrom('documents').select('id').where('subdomain', '=', site).execute()).length;
const progressOf = (site: string) => harness.db.selectFrom('site_progress').selectAll().where('subdomain', '=', site).executeTakeFirstOrThrow();

beforeAll(async () => {
  harness = await createHarness('listing-check');
  fetchActivities = createFetchActivities({ db: harness.db, store: harness.store, config: harness.config });
  siteDir = path.join(harness.dataDir, 'site');
  listings = [];
  await addDocument('City Council', 2);
  await addDocument('Planning Commission', 3);
  const server = await serveDirectory(siteDir);
  closers.push(() => server.close());
  await saveSite(harness.db, { subdomain: SITE, name: SITE, fetcher: 'http-index', sourceUrl: `${server.url}/index.html` });

  // A listing that never answers.
  const hanging = http.createServer(() => {});
  await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
  closers.push(async () => {
    hanging.closeAllConnections();
    await new Promise((resolve) => hanging.close(resolve));
  });
  await saveSite(harness.db, { subdomain: HANGING, name: HANGING, fetcher: 'http-index', sourceUrl: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/index.html` });
});

afterAll(async () => {
  for (const close of closers.splice(0)) await close();
  await harness?.close();
});

describe('the listing check of a site run', () => {
  it('leaves a site never fetched to fetchSite without listing it or recording anything', async () => {
    const result = await runActivity<CheckResult>('fetchSiteIfNothingToDownload', SITE, { runId: 'first-run', scheduledAt: new Date() });
    expect(result).toEqual({ fetched: false, reason: 'the site was never fetched' });
    expect(await documentCount(SITE)).toBe(0);
    expect((await harness.db.selectFrom('site_progress').select('run_id').where('subdomain', '=', SITE).executeTakeFirst())?.run_id ?? null).toBeNull();
    const fetched = await runActivity<{ fetch: { downloaded: number } }>('fetchSite', SITE, { runId: 'first-run', scheduledAt: new Date() });
    expect(fetched.fetch.downloaded).toBe(2);
    expect(await documentCount(SITE)).toBe(2);
    expect(await progressOf(SITE)).toMatchObject({ run_id: 'first-run' });
  });

  it('does the whole fetch of an unchanged site itself: every document answered 304, none downloaded', async () => {
    const before = await harness.db.selectFrom('documents').select(['id', 'content_sha256', 'status']).where('subdomain', '=', SITE).orderBy('id').execute();
    const scheduledAt = new Date(Date.now() - 1_000);
    const result = await runActivity<CheckResult>('fetchSiteIfNothingToDownload', SITE, { runId: 'rerun', scheduledAt });
    expect(result).toMatchObject({ fetched: true, fetch: { listed: 2, downloaded: 0, unchanged: 2 } });
    expect(await harness.db.selectFrom('documents').select(['id', 'content_sha256', 'status']).where('subdomain', '=', SITE).orderBy('id').execute()).toEqual(before);
    // The run's start is when the check was scheduled.
    expect(await progressOf(SITE)).toMatchObject({ run_id: 'rerun', current_stage: 'fetch', started_at: scheduledAt });
  });

  it('keeps the first start of a run when fetchSite records it again', async () => {
    const scheduledAt = new Date(Date.now() - 1_000);
    await runActivity<CheckResult>('fetchSiteIfNothingToDownload', SITE, { runId: 'twice', scheduledAt });
    await runActivity('fetchSite', SITE, { runId: 'twice', scheduledAt: new Date() });
    expect(await progressOf(SITE)).toMatchObject({ run_id: 'twice', started_at: scheduledAt });
  });

  it('leaves a newly listed document to fetchSite, recording no document', async () => {
    await addDocument('Special Session', 1);
    const result = await runActivity<CheckResult>('fetchSiteIfNothingToDownload', SITE, { runId: 'new-document', scheduledAt: new Date() });
    expect(result).toEqual({ fetched: false, reason: '1 listed documents to download' });
    expect(await documentCount(SITE)).toBe(2);
    await runActivity('fetchSite', SITE, { runId: 'new-document', scheduledAt: new Date() });
    expect(await documentCount(SITE)).toBe(3);
  });

  it('leaves a document changed since its download (no 304) to fetchSite', async () => {
    const changed = path.join(siteDir, listings[0]!.path);
    await fs.writeFile(changed, await fixturePdf('minutes', 'City Council', '2020-01-01'));
    const later = new Date(Date.now() + 60_000);
    await fs.utimes(changed, later, later);
    const result = await runActivity<CheckResult>('fetchSiteIfNothingToDownload', SITE, { runId: 'changed', scheduledAt: new Date() });
    expect(result).toEqual({ fetched: false, reason: 'a listed document changed since its last download' });
    const fetched = await runActivity<{ fetch: { downloaded: number; unchanged: number } }>('fetchSite', SITE, { runId: 'changed', scheduledAt: new Date() });
    expect(fetched.fetch).toMatchObject({ downloaded: 1, unchanged: 2 });
  });

  it('gives up on a listing that does not answer within its deadline, and leaves it to fetchSite', async () => {
    // The check looks only at a site fetched before.
    await harness.db.updateTable('sites').set({ last_fetched_at: new Date() }).where('subdomain', '=', HANGING).execute();
    const result = await runActivity<CheckResult>('fetchSiteIfNothingToDownload', HANGING, { runId: 'hanging', scheduledAt: new Date() });
    expect(result).toEqual({ fetched: false, reason: `the listing took longer than ${LISTING_CHECK_DEADLINE_MS / 1000} s` });
  });

  it('leaves an unknown site to fetchSite, which fails it', async () => {
    const result = await runActivity<CheckResult>('fetchSiteIfNothingToDownload', 'nowhere.ca', { runId: 'unknown', scheduledAt: new Date() });
    expect(result).toMatchObject({ fetched: false, reason: expect.stringContaining('nowhere.ca') });
    await expect(runActivity('fetchSite', 'nowhere.ca', { runId: 'unknown', scheduledAt: new Date() })).rejects.toThrow(/nowhere\.ca/);
  });
});
