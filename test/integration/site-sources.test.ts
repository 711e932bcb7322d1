import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FetchReport } from '../../src/activities/fetch.js';
import { fixturePdf } from '../../src/samples/platforms/documents.js';
import { startFixtureServer, type FixtureServer } from '../../src/samples/platforms/fixture-server.js';
import { platformFixtures } from '../../src/samples/platforms/index.js';
import type { PlatformFixture } from '../../src/samples/platforms/types.js';
import { saveSite } from '../../src/sites/repository.js';
import { fetchReportOf } from '../../src/temporal/histories.js';
import { enqueueSite } from '../../src/temporal/site-runs.js';
import type { SiteStatus } from '../../src/workflows/types.js';
import { createHarness, type Harness } from '../support/harness.js';

let harness: Harness;

beforeAll(async () => {
  harness = await createHarness('sources');
  await harness.startWorkers();
});

afterAll(async () => {
  await harness?.close();
});

/** Runs the site to its end and returns its final status and what its fetch reported. */
async function runSite(subdomain: string, options: { full?: boolean } = {}): Promise<{ status: SiteStatus; fetch: FetchReport }> {
  const run = await enqueueSite(harness.client, harness.config, subdomain, options);
  const handle = harness.client.workflow.getHandle(run.workflowId, run.runId);
  const status = (await handle.result()) as SiteStatus;
  const fetch = fetchReportOf(await handle.fetchHistory());
  if (!fetch) throw new Error(`no fetch report in ${subdomain}'s history`);
  return { status, fetch };
}

const key = (d: { kind: string; date: string; url: string }) => `${d.kind} ${d.date} ${d.url}`;

describe.each(platformFixtures)('a $fetcher site, end to end against its fixture', (entry) => {
  let fixture: PlatformFixture;
  let first: { status: SiteStatus; fetch: FetchReport };
  let pdfsAfterFirst: number;
  let second: { status: SiteStatus; fetch: FetchReport };
  let full: { status: SiteStatus; fetch: FetchReport };

  beforeAll(async () => {
    fixture = await entry.start();
    await saveSite(harness.db, {
      subdomain: entry.subdomain,
      name: entry.subdomain,
      fetcher: entry.fetcher,
      sourceUrl: fixture.baseUrl,
      // A look-back long enough that the incremental run lists the fixture's whole (past) history.
      settings: { ...fixture.settings, lookback_days: '3650' },
      allowedHosts: fixture.allowHosts,
    });
    first = await runSite(entry.subdomain);
    pdfsAfterFirst = fixture.pdfsSent();
    second = await runSite(entry.subdomain);
    full = await runSite(entry.subdomain, { full: true });
  });

  afterAll(async () => {
    await fixture?.close();
  });

  it('fetches exactly the documents the platform lists, and reads every page', async () => {
    expect(first.status.stage).toBe('completed');
    const documents = await harness.db.selectFrom('documents').selectAll().where('subdomain', '=', entry.subdomain).execute();
    expect(documents.map((d) => key({ kind: d.kind, date: d.meeting_date, url: d.source_url })).sort()).toEqual(fixture.expected.map(key).sort());
    expect(documents.every((d) => d.status === 'done')).toBe(true);
    expect(first.fetch).toMatchObject({ listed: fixture.expected.length, downloaded: fixture.expected.length, failed: 0, rejected: fixture.expectedRejected, since: null });
    const pages = await harness.db.selectFrom('pages').select(['status']).where('subdomain', '=', entry.subdomain).execute();
    expect(pages.length).toBeGreaterThanOrEqual(fixture.expected.length);
    expect(pages.every((p) => p.status === 'done')).toBe(true);
  });

  it('records the listings it rejected, with their reasons', async () => {
    const rejections = await harness.db.selectFrom('listing_rejections').selectAll().where('subdomain', '=', entry.subdomain).execute();
    expect(rejections).toHaveLength(fixture.expectedRejected);
    expect(rejections.every((r) => r.reason.length > 0)).toBe(true);
  });

  it('downloads no document on a second run of the unchanged site, which asks only for meetings since the first', () => {
    expect(second.status.stage).toBe('completed');
    expect(second.fetch.since).not.toBeNull();
    expect(second.fetch).toMatchObject({ listed: fixture.expected.length, downloaded: 0, failed: 0, unchanged: fixture.expected.length });
  });

  it("re-checks every document on a full run, and the server's 304s still send no PDF", async () => {
    expect(full.status.stage).toBe('completed');
    expect(full.fetch.since).toBeNull();
    expect(fixture.pdfsSent()).toBe(pdfsAfterFirst);
    // A local folder has no HTTP validators: a full run copies its files again, but unchanged
    // content keeps every page as it was.
    const recopied = entry.fetcher === 'folder' ? fixture.expected.length : 0;
    expect(full.fetch).toMatchObject({ listed: fixture.expected.length, downloaded: recopied, failed: 0 });
    const pages = await harness.db.selectFrom('pages').select(['status']).where('subdomain', '=', entry.subdomain).execute();
    expect(pages.every((p) => p.status === 'done')).toBe(true);
  });
});

describe('safe downloads on a site whose documents misbehave', () => {
  const SITE = 'misbehaving.town';
  let platform: FixtureServer;
  let elsewhere: FixtureServer;
  let revision = 1;
  let flakyCalls = 0;
  let first: { status: SiteStatus; fetch: FetchReport };

  const listing = [
    { kind: 'minutes', meeting: 'City Council', date: '2026-01-05', path: '/docs/ok.pdf' },
    { kind: 'minutes', meeting: 'City Council', date: '2026-01-12', path: '/docs/changing.pdf' },
    { kind: 'minutes', meeting: 'City Council', date: '2026-01-19', path: '/docs/flaky.pdf' },
    { kind: 'minutes', meeting: 'City Council', date: '2026-01-26', path: '/docs/missing.pdf' },
    { kind: 'agenda', meeting: 'City Council', date: '2026-01-26', path: '/docs/login.pdf' },
    { kind: 'agenda', meeting: 'City Council', date: '2026-02-02', path: '/docs/offsite.pdf' },
  ];

  beforeAll(async () => {
    elsewhere = await startFixtureServer(async () => ({ pdf: await fixturePdf('minutes', 'Elsewhere', '2026-02-02') }));
    platform = await startFixtureServer(async (request) => {
      if (request.path === '/meetings') {
        const links = listing.map((d) => `<a href="${d.path}" data-kind="${d.kind}" data-meeting="${d.meeting}" data-date="${d.date}">${d.meeting}</a>`);
        return { html: `<!doctype html><html><body>${links.join('\n')}<a href="/docs/bad.pdf" data-meeting="City Council" data-date="2026-02-30">x</a></body></html>` };
      }
      if (request.path === '/docs/ok.pdf') return { pdf: await fixturePdf('minutes', 'City Council', '2026-01-05') };
      if (request.path === '/docs/changing.pdf') return { pdf: await fixturePdf('minutes', 'City Council', '2026-01-12', revision) };
      if (request.path === '/docs/flaky.pdf') return ++flakyCalls === 1 ? { status: 502, body: 'bad gateway' } : { pdf: await fixturePdf('minutes', 'City Council', '2026-01-19') };
      if (request.path === '/docs/login.pdf') return { html: '<!doctype html><html><body><form>Please sign in</form></body></html>' };
      if (request.path === '/docs/offsite.pdf') return { redirect: `${elsewhere.url}/x.pdf` };
      return undefined;
    });
    await saveSite(harness.db, { subdomain: SITE, name: 'Misbehaving', fetcher: 'http-index', sourceUrl: `${platform.url}/meetings`, settings: { request_delay_ms: '0', lookback_days: '3650' } });
    first = await runSite(SITE);
  });

  afterAll(async () => {
    await platform?.close();
    await elsewhere?.close();
  });

  it('completes the site, recording each refused document with its reason and storing none of them', async () => {
    expect(first.status.stage).toBe('completed');
    expect(first.fetch).toMatchObject({ listed: 6, downloaded: 3, failed: 3, rejected: 1 });
    const documents = await harness.db.selectFrom('documents').selectAll().where('subdomain', '=', SITE).orderBy('meeting_date').orderBy('kind').execute();
    const byUrl = new Map(documents.map((d) => [new URL(d.source_url).pathname, d]));
    expect(byUrl.get('/docs/ok.pdf')).toMatchObject({ status: 'done' });
    expect(byUrl.get('/docs/flaky.pdf')).toMatchObject({ status: 'done' });
    expect(byUrl.get('/docs/missing.pdf')).toMatchObject({ status: 'failed', failure_reason: 'not-found' });
    expect(byUrl.get('/docs/login.pdf')).toMatchObject({ status: 'failed', failure_reason: 'not-pdf' });
    expect(byUrl.get('/docs/offsite.pdf')).toMatchObject({ status: 'failed', failure_reason: 'host-not-allowed' });
    expect(byUrl.get('/docs/offsite.pdf')!.error).toContain(`leads to another host (${elsewhere.host})`);
    for (const failed of documents.filter((d) => d.status === 'failed')) expect(await harness.store.exists(failed.storage_key)).toBe(false);
    expect(elsewhere.requests).toEqual([]);
  });

  it('keeps the impossible date as a rejected listing', async () => {
    const rejections = await harness.db.selectFrom('listing_rejections').selectAll().where('subdomain', '=', SITE).execute();
    expect(rejections).toEqual([expect.objectContaining({ url: `${platform.url}/docs/bad.pdf`, reason: expect.stringContaining('not a real date') })]);
  });

  it('downloads a changed document again and reads only its pages, leaving the others untouched', async () => {
    const before = await harness.db.selectFrom('pages').select(['document_id', 'content_sha256', 'updated_at']).where('subdomain', '=', SITE).execute();
    revision = 2;
    const sentBefore = platform.pdfsSent();
    const second = await runSite(SITE);
    expect(second.status.stage).toBe('completed');
    // Only the changed document's body was sent; the others answered 304.
    expect(platform.pdfsSent() - sentBefore).toBe(1);
    expect(second.fetch).toMatchObject({ downloaded: 1, unchanged: 2 });
    const after = await harness.db.selectFrom('pages').select(['document_id', 'content_sha256', 'updated_at']).where('subdomain', '=', SITE).execute();
    const changedId = (await harness.db.selectFrom('documents').select('id').where('subdomain', '=', SITE).where('meeting_date', '=', '2026-01-12').executeTakeFirstOrThrow()).id;
    for (const page of after) {
      const earlier = before.find((p) => p.document_id === page.document_id)!;
      if (page.document_id === changedId) expect(page.content_sha256).not.toBe(earlier.content_sha256);
      else expect(page.updated_at).toEqual(earlier.updated_at);
    }
  });
});
