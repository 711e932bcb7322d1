import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { civicplusFetcher, parseAgendaCenter } from '../../src/fetchers/civicplus.js';
import { HttpClient } from '../../src/fetchers/http.js';
import { fetchContextFor } from '../../src/fetchers/site-settings.js';
import { FetchError, ListingFormatError, type DiscoveredDocument, type SiteSource } from '../../src/fetchers/types.js';
import { startCivicplusFixture } from '../../src/samples/platforms/civicplus.js';
import { startFixtureServer } from '../../src/samples/platforms/fixture-server.js';
import type { ExpectedDocument, PlatformFixture } from '../../src/samples/platforms/types.js';

let grouped: PlatformFixture;
let flat: PlatformFixture;

beforeAll(async () => {
  [grouped, flat] = await Promise.all([startCivicplusFixture(), startCivicplusFixture({ layout: 'flat' })]);
});

afterAll(async () => {
  await Promise.all([grouped?.close(), flat?.close()]);
});

function siteOf(baseUrl: string, settings: Record<string, string> = {}): SiteSource {
  return { subdomain: 'fairview.civicplus', fetcher: 'civicplus', baseUrl, settings, timeZone: 'America/New_York' };
}

function httpFor(baseUrl: string, allowHosts: readonly string[] = []): HttpClient {
  return new HttpClient({ allowedHosts: [new URL(baseUrl).host, ...allowHosts], perHostDelayMs: 0, retryBaseMs: 10 });
}

function discover(fixture: PlatformFixture, range: { since?: string; until?: string } = {}, settings: Record<string, string> = {}) {
  return civicplusFetcher.discover(siteOf(fixture.baseUrl, settings), range, fetchContextFor(httpFor(fixture.baseUrl, fixture.allowHosts)));
}

function listed(documents: readonly (DiscoveredDocument | ExpectedDocument)[]): ExpectedDocument[] {
  return documents.map(({ kind, meeting, date, url }) => ({ kind, meeting, date, url })).sort((a, b) => a.url.localeCompare(b.url) || a.kind.localeCompare(b.kind));
}

/** The query of each Agenda Center search the site answered since `from`. */
function searches(fixture: PlatformFixture, from = 0): URLSearchParams[] {
  return fixture.servers[0]!.requests
    .slice(from)
    .filter((request) => request.url.startsWith('/AgendaCenter/Search/'))
    .map((request) => new URL(request.url, 'http://fixture.invalid').searchParams);
}

describe('civicplus fetcher', () => {
  for (const layout of ['grouped', 'flat'] as const) {
    it(`lists every category's agenda and minutes PDFs from the ${layout} layout, rejects the impossible date, and downloads nothing`, async () => {
      const fixture = layout === 'grouped' ? grouped : flat;
      const before = fixture.servers[0]!.requests.length;
      const { documents, rejected } = await discover(fixture);

      expect(listed(documents)).toEqual(listed(fixture.expected));
      expect(rejected).toHaveLength(fixture.expectedRejected);
      expect(rejected[0]!.reason).toBe('meeting date "2021-02-30" is not a real date (the row says "' + (layout === 'grouped' ? 'February' : 'Feb') + ' 30, 2021")');
      expect(rejected[0]!.url).toBe(`${fixture.baseUrl}/AgendaCenter/ViewFile/Agenda/_02302021-107`);
      expect(fixture.pdfsSent()).toBe(0);

      // The meeting is the category (body), not the posting's title; the HTML agenda, the packet,
      // previous versions and videos are not listed.
      expect(new Set(documents.map((d) => d.meeting))).toEqual(new Set(['City Council', 'Planning Commission', 'Parks & Recreation Board']));
      expect(documents.every((d) => /\/AgendaCenter\/ViewFile\/(Agenda|Minutes)\/_\d{8}-\d+$/.test(d.url))).toBe(true);
      // The 5:30 special meeting and the 7:00 regular meeting of 2 June 2020 are both kept, apart.
      const june2 = documents.filter((d) => d.kind === 'agenda' && d.date === '2020-06-02');
      expect(june2.map((d) => d.meetingSlug)).toEqual(['CityCouncil', 'CityCouncil']);
      expect(june2.filter((d) => d.part === undefined)).toHaveLength(1);

      // One search of the whole history, written as the site's own search form writes it.
      const [query, ...more] = searches(fixture, before);
      expect(more).toEqual([]);
      expect(query!.get('startDate')).toBe('01/01/1900');
      expect(query!.get('endDate')).toBe(`12/31/${new Date().getUTCFullYear() + 1}`);
      expect(query!.get('CIDs')).toBe('all');
    });
  }

  it('passes a date range to the search and lists only what it returns', async () => {
    const before = grouped.servers[0]!.requests.length;
    const { documents, rejected } = await discover(grouped, { since: '2021-01-01', until: '2021-12-31' });

    const [query] = searches(grouped, before);
    expect(query!.get('startDate')).toBe('01/01/2021');
    expect(query!.get('endDate')).toBe('12/31/2021');
    expect(grouped.servers[0]!.requests.at(-1)!.url).toContain('startDate=01/01/2021&endDate=12/31/2021');
    expect(listed(documents)).toEqual(listed(grouped.expected.filter((d) => d.date.startsWith('2021-'))));
    // The impossible 30 February 2021 is inside the range the server was asked for: still rejected.
    expect(rejected).toHaveLength(1);
  });

  it('reads only the categories the site is set up with', async () => {
    const before = grouped.servers[0]!.requests.length;
    const { documents } = await discover(grouped, {}, { categories: '1, 3' });
    expect(searches(grouped, before)[0]!.get('CIDs')).toBe('1,3,');
    expect(new Set(documents.map((d) => d.meeting))).toEqual(new Set(['City Council', 'Parks & Recreation Board']));
    expect(() => civicplusFetcher.validateSettings!({ categories: 'council' })).toThrow('setting categories must be Agenda Center category ids');
    expect(() => civicplusFetcher.validateSettings!({ categories: '1,4' })).not.toThrow();
  });

  it('searches again in halves of the dates when a result is too large for one listing', async () => {
    const real = httpFor(grouped.baseUrl, grouped.allowHosts);
    const windows: string[] = [];
    // A site whose pages for more than about a year are over the listing size limit.
    const limited = Object.create(real) as HttpClient;
    limited.getText = async (url, options) => {
      const query = new URL(url).searchParams;
      const [from, to] = [query.get('startDate')!, query.get('endDate')!].map((us) => Date.parse(us.replace(/(\d+)\/(\d+)\/(\d+)/, '$3-$1-$2')));
      windows.push(`${query.get('startDate')}-${query.get('endDate')}`);
      if (to! - from! > 400 * 86_400_000) throw new FetchError(`${url} is over the 20971520-byte limit`, true, 'too-large');
      return real.getText(url, options);
    };
    const { documents, rejected } = await civicplusFetcher.discover(siteOf(grouped.baseUrl), { since: '2019-01-01', until: '2022-12-31' }, fetchContextFor(limited));
    expect(listed(documents)).toEqual(listed(grouped.expected));
    expect(rejected).toHaveLength(1);
    expect(windows).toEqual(['01/01/2019-12/31/2022', '01/01/2019-12/31/2020', '01/01/2019-01/01/2020', '01/02/2020-12/31/2020', '01/01/2021-12/31/2022', '01/01/2021-12/31/2021', '01/01/2022-12/31/2022']);
  });

  it('treats a search with no meetings as an empty listing', async () => {
    const { documents, rejected } = await discover(grouped, { since: '2015-01-01', until: '2015-12-31' });
    expect(documents).toEqual([]);
    expect(rejected).toEqual([]);
  });

  it('lists file links on the civicplus.com host that download from the city domain they redirect to', async () => {
    const http = httpFor(grouped.baseUrl, grouped.allowHosts);
    const { documents } = await civicplusFetcher.discover(siteOf(grouped.baseUrl), {}, fetchContextFor(http));
    const minutes = documents.find((d) => d.kind === 'minutes' && d.date === '2020-01-14')!;
    expect(new URL(minutes.url).host).toBe(grouped.servers[0]!.host);

    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'clerk-civicplus-'));
    try {
      const result = await http.download(minutes.url, { destination: path.join(folder, 'minutes.pdf'), maxBytes: 5_000_000 });
      expect(result.status).toBe('downloaded');
      expect(result.status === 'downloaded' && new URL(result.url).host).toBe(grouped.allowHosts[0]);
      expect(fs.readFileSync(path.join(folder, 'minutes.pdf')).subarray(0, 5).toString()).toBe('%PDF-');
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
    // Without the city's domain allowed, the redirect is refused.
    const narrow = httpFor(grouped.baseUrl);
    await expect(narrow.download(minutes.url, { destination: path.join(os.tmpdir(), 'never.pdf'), maxBytes: 5_000_000 })).rejects.toMatchObject({ permanent: true, reason: 'host-not-allowed' });
  });

  it('fails on a page that is not an Agenda Center listing, such as a login page', async () => {
    const login = await startFixtureServer(() => ({
      html: '<!DOCTYPE html><html><head><title>Sign In</title></head><body><form method="post" action="/MyAccount/Login"><input name="email"><input type="password" name="password"><button>Sign in</button></form></body></html>',
    }));
    try {
      const error = await civicplusFetcher.discover(siteOf(login.url), {}, fetchContextFor(httpFor(login.url))).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ListingFormatError);
      expect((error as Error).message).toMatch(/is not a CivicPlus Agenda Center search page/);
    } finally {
      await login.close();
    }
  });

  it('uses the date the row prints over the one in the file link, and the link\'s only when the row prints none or an impossible one', () => {
    const row = (strong: string, id: string) => `<div class="listing listingCollapse noHeader" id="cat4"><h2><span id="span4">&#9660;</span>Library Board</h2><table><tbody>
      <tr class="catAgendaRow"><td><h4>${strong}</h4></td><td class="minutes"><a href="/AgendaCenter/ViewFile/Minutes/${id}">Minutes</a></td></tr></tbody></table></div>`;
    const html = [
      row('<strong aria-label="Agenda for March 3, 2022"><abbr title="March">Mar</abbr> 3, 2022</strong>', '_03012022-7'),
      row('', '_04052022-8'),
      row('<strong><abbr title="June">Jun</abbr> 31, 2022</strong>', '_06302022-9'),
      row('<strong>TBD</strong>', '_13402022-10'),
    ].join('');
    const { documents, rejected } = parseAgendaCenter(html, 'https://lib.example.gov/AgendaCenter/Search/');
    expect(documents.map((d) => [d.meeting, d.date, d.url])).toEqual([
      ['Library Board', '2022-03-03', 'https://lib.example.gov/AgendaCenter/ViewFile/Minutes/_03012022-7'],
      ['Library Board', '2022-04-05', 'https://lib.example.gov/AgendaCenter/ViewFile/Minutes/_04052022-8'],
      ['Library Board', '2022-06-30', 'https://lib.example.gov/AgendaCenter/ViewFile/Minutes/_06302022-9'],
    ]);
    expect(rejected).toEqual([
      { url: 'https://lib.example.gov/AgendaCenter/ViewFile/Minutes/_13402022-10', reason: 'meeting date "TBD" is not a date like "Jan 7, 2020" (the row says "TBD")' },
    ]);
  });

  // Rows nested in rows made every row read the whole page: a regression shows as a timeout.
  it('reads 5 MB hostile result pages in linear time', { timeout: 60_000 }, () => {
    const row = '<div id="cat1"><h2>Council</h2><table><tr class="catAgendaRow"><td><strong aria-label="Agenda for January 7, 2020">x</strong><a href="/AgendaCenter/ViewFile/Agenda/_01072020-1">A</a>';
    const sibling = '<tr class="catAgendaRow"><td><strong>Jan 7, 2020</strong><a href="/AgendaCenter/ViewFile/Agenda/_01072020-1">A</a></td></tr>';
    const pages = [
      row.repeat(29_000),
      `${row}</td></tr></table></div>`.repeat(26_000),
      '<div id="AgendaCenterContent">' + '<tr class="catAgendaRow"><td>'.repeat(170_000),
      `<div id="cat1"><h2>Council</h2><table>${sibling.repeat(42_000)}</table></div>`,
    ];
    for (const html of pages) {
      expect(html.length).toBeGreaterThan(4_500_000);
      const { documents } = parseAgendaCenter(html, 'https://hostile.example/AgendaCenter/Search/');
      expect(documents.length).toBeLessThanOrEqual(1);
    }
  });

  it('allows the www twin of a city domain by default, and nothing it cannot know for a civicplus.com site', () => {
    expect(civicplusFetcher.defaultAllowedHosts!(new URL('https://www.fairviewoh.gov'))).toEqual(['fairviewoh.gov']);
    expect(civicplusFetcher.defaultAllowedHosts!(new URL('https://fairviewoh.gov'))).toEqual(['www.fairviewoh.gov']);
    expect(civicplusFetcher.defaultAllowedHosts!(new URL('https://oh-fairview.civicplus.com'))).toEqual([]);
  });
});
