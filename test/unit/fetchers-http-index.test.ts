import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient } from '../../src/fetchers/http.js';
import { readHtml, textOf } from '../../src/fetchers/html.js';
import { readDate } from '../../src/fetchers/meeting.js';
import { httpIndexFetcher, parseIndexPage } from '../../src/fetchers/http-index.js';
import { fetchContextFor } from '../../src/fetchers/site-settings.js';
import { ListingFormatError, type DiscoveredDocument, type SiteSource } from '../../src/fetchers/types.js';
import { startFixtureServer } from '../../src/samples/platforms/fixture-server.js';
import { startHttpIndexFixture } from '../../src/samples/platforms/http-index.js';
import type { ExpectedDocument, PlatformFixture } from '../../src/samples/platforms/types.js';

let fixture: PlatformFixture;

beforeAll(async () => {
  fixture = await startHttpIndexFixture();
});

afterAll(() => fixture?.close());

function siteOf(baseUrl: string, settings: Record<string, string> = {}): SiteSource {
  return { subdomain: 'oakdale.town', fetcher: 'http-index', baseUrl, settings, timeZone: 'America/New_York' };
}

function httpFor(baseUrl: string): HttpClient {
  return new HttpClient({ allowedHosts: [new URL(baseUrl).host], perHostDelayMs: 0, retryBaseMs: 10 });
}

function discover(baseUrl: string, settings: Record<string, string>, range: { since?: string; until?: string } = {}) {
  return httpIndexFetcher.discover(siteOf(baseUrl, settings), range, fetchContextFor(httpFor(baseUrl)));
}

function listed(documents: readonly (DiscoveredDocument | ExpectedDocument)[]): ExpectedDocument[] {
  return documents.map(({ kind, meeting, date, url }) => ({ kind, meeting, date, url })).sort((a, b) => a.url.localeCompare(b.url) || a.kind.localeCompare(b.kind));
}

const BASE = 'https://oakdale.example/government/agendas-minutes';

describe('http-index fetcher on a town website', () => {
  it('reads the page with its pattern settings: kind, meeting and date from each link, the bad date rejected, nothing downloaded', async () => {
    const { documents, rejected } = await discover(fixture.baseUrl, fixture.settings);

    expect(listed(documents)).toEqual(listed(fixture.expected));
    expect(rejected).toHaveLength(fixture.expectedRejected);
    expect(rejected[0]!.reason).toBe('meeting date "2021-02-30" is not a real date (the page says "February 30, 2021")');
    expect(rejected[0]!.url).toMatch(/\/DocumentCenter\/View\/1279\/PB-Minutes-02-30-2021$/);
    expect(fixture.pdfsSent()).toBe(0);

    // The date of "Planning Board Agenda (revised)" is read from its URL, the text having none.
    expect(documents.find((d) => d.url.includes('/1250/'))).toMatchObject({ kind: 'agenda', meeting: 'Planning Board', date: '2020-03-04' });
    // The special and the regular minutes of 2 June 2020 are both kept, apart.
    const june2 = documents.filter((d) => d.kind === 'minutes' && d.date === '2020-06-02');
    expect(june2).toHaveLength(2);
    expect(june2.filter((d) => d.part === undefined)).toHaveLength(1);
    // Packets, videos, the online agenda and the sidebar's PDFs are not listed.
    expect(documents.some((d) => /Packet|youtube|Calendar|\/90\d\//.test(d.url))).toBe(false);
  });

  it('lists nothing from that page with the default settings, which look for .pdf links', async () => {
    await expect(discover(fixture.baseUrl, {})).resolves.toEqual({ documents: [], rejected: [] });
  });

  it('applies since and until', async () => {
    const { documents } = await discover(fixture.baseUrl, fixture.settings, { since: '2021-01-01' });
    expect(listed(documents)).toEqual(listed(fixture.expected.filter((d) => d.date >= '2021-01-01')));
  });

  it('still reads the sample site format by default: data attributes, else the link path', async () => {
    const page = await startFixtureServer(() => ({
      html: `<ul>
        <li><a class="document" href="minutes/CityCouncil/2026-01-05.pdf" data-kind="minutes" data-meeting="City Council" data-date="2026-01-05">City Council minutes, January 5, 2026</a></li>
        <li><a href="agendas/Planning%20Board/2026-01-12.pdf">Planning Board agenda</a></li>
        <li><a href="about.html">About</a> <a href="mailto:clerk@example.org">Clerk</a></li></ul>`,
    }));
    try {
      const { documents, rejected } = await discover(`${page.url}/meetings/index.html`, {});
      expect(rejected).toEqual([]);
      expect(documents.map((d) => [d.kind, d.meeting, d.date, d.url])).toEqual([
        ['minutes', 'City Council', '2026-01-05', `${page.url}/meetings/minutes/CityCouncil/2026-01-05.pdf`],
        ['agenda', 'Planning Board', '2026-01-12', `${page.url}/meetings/agendas/Planning%20Board/2026-01-12.pdf`],
      ]);
    } finally {
      await page.close();
    }
  });

  it('fails on a login page and on a body that is not HTML, rather than listing nothing', async () => {
    const pages = await startFixtureServer((request) =>
      request.path === '/login'
        ? { html: '<html><body><h1>Staff login</h1><form method="post"><input name="user"><input type="password" name="password"></form><a href="/help.pdf">Help</a></body></html>' }
        : { json: { documents: [] } },
    );
    try {
      const login = await discover(`${pages.url}/login`, fixture.settings).catch((e: unknown) => e);
      expect(login).toBeInstanceOf(ListingFormatError);
      expect((login as Error).message).toMatch(/is a login page/);
      const json = await discover(`${pages.url}/api`, {}).catch((e: unknown) => e);
      expect(json).toBeInstanceOf(ListingFormatError);
      expect((json as Error).message).toMatch(/is application\/json/);
    } finally {
      await pages.close();
    }
  });
});

describe('http-index settings', () => {
  it('declares every setting it reads, with its meaning', () => {
    expect(Object.keys(httpIndexFetcher.settings!).sort()).toEqual(['date_format', 'date_pattern', 'kind', 'link_pattern', 'link_selector', 'meeting', 'meeting_pattern']);
    for (const meaning of Object.values(httpIndexFetcher.settings!)) expect(meaning.length).toBeGreaterThan(20);
    expect(() => httpIndexFetcher.validateSettings!(fixture.settings)).not.toThrow();
  });

  it('refuses settings that cannot work, naming the setting', () => {
    const refused = (settings: Record<string, string>) => {
      try {
        httpIndexFetcher.validateSettings!(settings);
      } catch (error) {
        return (error as Error).message;
      }
      return 'accepted';
    };
    expect(refused({ link_pattern: '(unclosed' })).toMatch(/^setting link_pattern is not a regular expression/);
    expect(refused({ meeting_pattern: '^(.+) Minutes' })).toBe('setting meeting_pattern needs a (?<meeting>...) group around the meeting name');
    expect(refused({ date_pattern: '(?<year>\\d{4})-(?<month>\\d\\d)' })).toMatch(/^setting date_pattern needs a \(\?<date>\.\.\.\) group/);
    expect(refused({ date_pattern: '(?<date>(\\d+-)+\\d+)' })).toMatch(/^setting date_pattern repeats a group that itself repeats/);
    expect(refused({ link_pattern: '(a*)*b' })).toMatch(/repeats a group that itself repeats/);
    expect(refused({ link_selector: 'ul > > a' })).toMatch(/^setting link_selector "ul > > a" is not a CSS selector/);
    expect(refused({ kind: 'packet' })).toBe('setting kind must be agenda, minutes or auto, got "packet"');
    expect(refused({ date_format: 'european' })).toMatch(/^setting date_format must be one of auto, ymd, mdy, dmy, month-name/);
    expect(refused({ meeting: '  ' })).toBe('setting meeting: meeting name is empty');
    expect(refused({ link_pattern: 'x'.repeat(301) })).toBe('setting link_pattern is longer than 300 characters');
    expect(refused({ date_pattern: '(?<date>\\d{1,2}/\\d{1,2}/\\d{2,4})', date_format: 'dmy', kind: 'minutes', meeting: 'Library Board' })).toBe('accepted');
  });

  it('reads a fixed meeting and kind, and a date from year, month and day groups', () => {
    const html = `<div class="docs">
      <a href="/files/lb_2020_jan_14.pdf">Regular meeting</a>
      <a href="/files/lb_2020_feb_11.pdf" data-kind="agenda">Regular meeting</a>
      <a href="/files/lb_2020_mar_99.pdf">Regular meeting</a></div>
      <a href="/files/brochure.pdf">Library brochure</a>`;
    const settings = { link_selector: '.docs a', meeting: 'Library Board', kind: 'minutes', date_pattern: 'lb_(?<year>\\d{4})_(?<month>[a-z]{3})_(?<day>\\d{1,2})' };
    const { documents, rejected } = parseIndexPage(html, BASE, settings);
    expect(documents.map((d) => [d.kind, d.meeting, d.date])).toEqual([
      ['minutes', 'Library Board', '2020-01-14'],
      ['agenda', 'Library Board', '2020-02-11'],
    ]);
    expect(rejected.map((r) => r.reason)).toEqual(['meeting date "2020-03-99" is not a real date (the page says "2020-mar-99")']);
  });

  it('tells agendas from minutes by the words in the link text, then in its URL', () => {
    const html = `
      <a href="/docs/1.pdf">Council Agenda 2021-01-05</a>
      <a href="/docs/2.pdf">Council Minutes 2021-01-05</a>
      <a href="/docs/agenda-2021-01-19.pdf">Council 2021-01-19</a>
      <a href="/docs/3.pdf">Council 2021-02-02</a>`;
    const settings = { meeting: 'Council', date_pattern: '(?<date>\\d{4}-\\d{2}-\\d{2})' };
    const { documents } = parseIndexPage(html, BASE, settings);
    expect(documents.map((d) => [d.date, d.kind])).toEqual([
      ['2021-01-05', 'agenda'],
      ['2021-01-05', 'minutes'],
      ['2021-01-19', 'agenda'],
      ['2021-02-02', 'minutes'],
    ]);
  });

  it('says which link a pattern found nothing in', () => {
    const { rejected } = parseIndexPage('<a href="/x/notes.pdf">Budget notes</a>', BASE, { meeting_pattern: '^(?<meeting>.+) Minutes', date_pattern: '(?<date>\\d{4}-\\d\\d-\\d\\d)' });
    expect(rejected).toEqual([{ url: 'https://oakdale.example/x/notes.pdf', reason: 'meeting_pattern found no meeting in the link text "Budget notes" or its URL' }]);
  });
});

describe('reading dates and HTML', () => {
  it('reads the ways town websites write dates', () => {
    expect(readDate('2020-01-07')).toBe('2020-01-07');
    expect(readDate('20200107')).toBe('2020-01-07');
    expect(readDate('January 7, 2020')).toBe('2020-01-07');
    expect(readDate('Tuesday, Jan. 7 2020')).toBe('2020-01-07');
    expect(readDate('7 January 2020')).toBe('2020-01-07');
    expect(readDate('01/07/2020')).toBe('2020-01-07');
    expect(readDate('1-7-20')).toBe('2020-01-07');
    expect(readDate('01072020')).toBe('2020-01-07');
    expect(readDate('07.01.2020', 'dmy')).toBe('2020-01-07');
    expect(readDate('20-01-07', 'ymd')).toBe('2020-01-07');
    expect(readDate('12/31/99')).toBe('1999-12-31');
    expect(() => readDate('02/30/2021')).toThrow('meeting date "2021-02-30" is not a real date (the page says "02/30/2021")');
    expect(() => readDate('soon')).toThrow('meeting date "soon" is not a date written in a way clerk reads');
    expect(() => readDate('January 7, 2020', 'mdy')).toThrow('is not a date written as mdy');
  });

  it('reads visible text only, with block boundaries as spaces and no-break spaces collapsed', () => {
    const $ = readHtml('<table><tr id="r"><td>Jan\u00a0 7,</td><td>2020<span style="display:none">1578355200</span><script>var x = 1;</script></td><td hidden>secret</td></tr></table>');
    expect(textOf($('#r')[0])).toBe('Jan 7, 2020');
  });

  // A parser that keeps every unclosed element open takes minutes to hours on pages like these
  // (quadratic in the nesting): a regression shows as this test timing out, not as a timing assertion.
  it('reads 5 MB hostile pages in linear time: deep nesting, huge link texts, unclosed anchors', { timeout: 60_000 }, () => {
    const link = '<li><a href="/DocumentCenter/View/1/SB-Minutes-01-07-2020">Select Board Minutes – January 7, 2020</a>';
    const pages = [
      '<div>'.repeat(1_000_000),
      '<li><p>'.repeat(500_000) + '</x>'.repeat(400_000),
      `<main id="content"><ul class="documents">${link.repeat(55_000)}</ul></main>`,
      `<main id="content"><ul class="documents"><li><a href="/DocumentCenter/View/1/x">${'Select Board Minutes '.repeat(250_000)}</a></li></ul></main>`,
      `<main id="content"><ul class="documents">${'<li><a href="/DocumentCenter/View/1/x">a '.repeat(120_000)}</ul></main>`,
    ];
    for (const html of pages) {
      expect(html.length).toBeGreaterThan(4_500_000);
      expect(html.length).toBeLessThan(6_000_000);
      const { documents, rejected } = parseIndexPage(html, BASE, fixture.settings);
      for (const doc of documents) expect(doc.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      for (const r of rejected) expect(r.reason.length).toBeLessThan(500);
    }
  });
});
