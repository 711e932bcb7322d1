import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { granicusDate, granicusFetcher, parseViewPublisher } from '../../src/fetchers/granicus.js';
import { HttpClient } from '../../src/fetchers/http.js';
import { fetchContextFor } from '../../src/fetchers/site-settings.js';
import { ListingFormatError, type DiscoveredDocument, type SiteSource } from '../../src/fetchers/types.js';
import { startFixtureServer } from '../../src/samples/platforms/fixture-server.js';
import { startGranicusFixture } from '../../src/samples/platforms/granicus.js';
import type { ExpectedDocument, PlatformFixture } from '../../src/samples/platforms/types.js';

let fixture: PlatformFixture;

beforeAll(async () => {
  fixture = await startGranicusFixture();
});

afterAll(() => fixture?.close());

function siteOf(baseUrl: string): SiteSource {
  return { subdomain: 'rivertown.granicus', fetcher: 'granicus', baseUrl, settings: {}, timeZone: 'America/Chicago' };
}

function httpFor(baseUrl: string, allowHosts: readonly string[] = []): HttpClient {
  return new HttpClient({ allowedHosts: [new URL(baseUrl).host, ...allowHosts], perHostDelayMs: 0, retryBaseMs: 10 });
}

function discover(range: { since?: string; until?: string } = {}) {
  return granicusFetcher.discover(siteOf(fixture.baseUrl), range, fetchContextFor(httpFor(fixture.baseUrl, fixture.allowHosts)));
}

function listed(documents: readonly (DiscoveredDocument | ExpectedDocument)[]): ExpectedDocument[] {
  return documents.map(({ kind, meeting, date, url }) => ({ kind, meeting, date, url })).sort((a, b) => a.url.localeCompare(b.url) || a.kind.localeCompare(b.kind));
}

describe('granicus fetcher', () => {
  it('lists the agenda and minutes of every archived meeting, rejects the impossible date, and downloads nothing', async () => {
    const before = fixture.servers[0]!.requests.length;
    const { documents, rejected } = await discover();

    expect(listed(documents)).toEqual(listed(fixture.expected));
    expect(rejected).toEqual([{ url: `${fixture.baseUrl.replace(/\/ViewPublisher.*/, '')}/AgendaViewer.php?view_id=1&clip_id=331`, reason: expect.stringContaining('meeting date "2021-02-30" is not a real date') }]);
    expect(rejected[0]!.reason).toContain('Feb 30, 2021');
    expect(fixture.pdfsSent()).toBe(0);
    // Discovery reads the one archive page; the viewers (which redirect to the files) are not asked.
    expect(fixture.servers[0]!.requests.slice(before).map((r) => r.url)).toEqual(['/ViewPublisher.php?view_id=1']);

    // Videos, MP4s, HTML agendas, the upcoming meeting's agenda and the action summary in a document menu are not listed.
    expect(documents.some((d) => /MediaPlayer|\.mp4|GeneratedAgendaViewer|event_id|9f8e7d6c/.test(d.url))).toBe(false);
    // The meeting is the name cell without its "play" link.
    expect(new Set(documents.map((d) => d.meeting))).toEqual(new Set(['City Council', 'Planning Commission']));
    // Minutes linked from a document menu are found.
    expect(documents.find((d) => d.kind === 'minutes' && d.date === '2020-02-19')?.url).toContain('MinutesViewer.php?view_id=1&clip_id=305&doc_id=');
    // The 5:30 and 7:00 sessions of 2 June 2020 are both kept, apart.
    const june2 = documents.filter((d) => d.kind === 'agenda' && d.date === '2020-06-02');
    expect(june2).toHaveLength(2);
    expect(june2.filter((d) => d.part === undefined)).toHaveLength(1);
  });

  it('applies a date range itself, since the archive page has no date query', async () => {
    const before = fixture.servers[0]!.requests.length;
    const { documents, rejected } = await discover({ since: '2020-06-01', until: '2020-12-31' });
    expect(fixture.servers[0]!.requests.slice(before).map((r) => r.url)).toEqual(['/ViewPublisher.php?view_id=1']);
    expect(listed(documents)).toEqual(listed(fixture.expected.filter((d) => d.date >= '2020-06-01' && d.date <= '2020-12-31')));
    expect(documents.map((d) => d.date).sort()).toEqual(['2020-06-02', '2020-06-02', '2020-06-02', '2020-10-21']);
    // A date that does not exist cannot be placed in or out of the range: it is rejected either way.
    expect(rejected).toHaveLength(1);
  });

  it('lists viewer links that download from the file store they redirect to', async () => {
    const http = httpFor(fixture.baseUrl, fixture.allowHosts);
    const { documents } = await granicusFetcher.discover(siteOf(fixture.baseUrl), {}, fetchContextFor(http));
    const minutes = documents.find((d) => d.kind === 'minutes' && d.date === '2021-09-07')!;
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'clerk-granicus-'));
    try {
      const result = await http.download(minutes.url, { destination: path.join(folder, 'minutes.pdf'), maxBytes: 5_000_000 });
      expect(result.status === 'downloaded' && new URL(result.url).host).toBe(fixture.allowHosts[0]);
      expect(fs.readFileSync(path.join(folder, 'minutes.pdf')).subarray(0, 5).toString()).toBe('%PDF-');
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
    expect(granicusFetcher.defaultAllowedHosts!(new URL(fixture.baseUrl))).toEqual(['*.granicus.com', 'granicus_production_attachments.s3.amazonaws.com']);
  });

  it('fails on a page that is not a ViewPublisher archive, and reads an empty archive as empty', async () => {
    const pages = await startFixtureServer((request) =>
      request.path === '/login'
        ? { html: '<!DOCTYPE html><html><body><h1>Sign in to Granicus</h1><form><input name="user"><input type="password" name="pass"></form></body></html>' }
        : { html: '<html><body><table class="listingTable" id="archive"><tr><th id="Name">Name</th><th id="Date">Date</th></tr></table></body></html>' },
    );
    try {
      const error = await granicusFetcher.discover(siteOf(`${pages.url}/login`), {}, fetchContextFor(httpFor(pages.url))).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ListingFormatError);
      expect((error as Error).message).toMatch(/is not a Granicus ViewPublisher page/);
      await expect(granicusFetcher.discover(siteOf(`${pages.url}/ViewPublisher.php?view_id=2`), {}, fetchContextFor(httpFor(pages.url)))).resolves.toEqual({ documents: [], rejected: [] });
    } finally {
      await pages.close();
    }
  });

  // Rows nested in rows made every row read the whole page: a regression shows as a timeout.
  it('reads 5 MB hostile archive pages in linear time', { timeout: 60_000 }, () => {
    const row = '<tr><td headers="Name">City Council</td><td headers="Date">Jan 7, 2020</td><td><a href="/AgendaViewer.php?view_id=1&clip_id=1">Agenda</a>';
    for (const html of ['<table class="listingTable">' + row.repeat(37_000), '<table class="listingTable">' + `${row}</td></tr>`.repeat(35_000), '<table class="listingTable">' + '<tr><td headers="Name"><a href="/MinutesViewer.php?clip_id=1">'.repeat(80_000)]) {
      expect(html.length).toBeGreaterThan(4_500_000);
      const { documents } = parseViewPublisher(html, 'https://hostile.granicus.com/ViewPublisher.php?view_id=1');
      expect(documents.length).toBeLessThanOrEqual(1);
    }
  });

  it('reads the dates Granicus prints, and a table without headers attributes by its column headings', () => {
    expect(granicusDate('Jan  7, 2020')).toBe('2020-01-07');
    expect(granicusDate('April\u00a0 2,\u00a02025 - 5:03\u00a0PM')).toBe('2025-04-02');
    expect(granicusDate('01/07/20 - 06:00 PM')).toBe('2020-01-07');
    expect(granicusDate('2019-11-04')).toBe('2019-11-04');
    expect(() => granicusDate('TBD')).toThrow('meeting date "TBD" is not a date like "Jan 7, 2020" or 01/07/20');

    const html = `<table class="listingTable">
      <tr><th>Meeting</th><th>Date</th><th>Agenda</th><th>Minutes</th></tr>
      <tr><td>Board of Adjustment</td><td>03/02/21</td>
        <td><a href="https://old.granicus.com/DocumentViewer.php?file=old_a1.pdf">View</a></td>
        <td><a href="https://old.granicus.com/DocumentViewer.php?file=old_m1.pdf">View</a></td></tr>
    </table>`;
    const { documents, rejected } = parseViewPublisher(html, 'https://old.granicus.com/ViewPublisher.php?view_id=3');
    expect(rejected).toEqual([]);
    expect(documents.map((d) => [d.kind, d.meeting, d.date, d.url])).toEqual([
      ['agenda', 'Board of Adjustment', '2021-03-02', 'https://old.granicus.com/DocumentViewer.php?file=old_a1.pdf'],
      ['minutes', 'Board of Adjustment', '2021-03-02', 'https://old.granicus.com/DocumentViewer.php?file=old_m1.pdf'],
    ]);
  });
});
