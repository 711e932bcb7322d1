import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtInFetchers, builtInRegistry, FetcherRegistry, PluginError, UnknownFetcherError } from '../../src/fetchers/index.js';
import { folderFetcher } from '../../src/fetchers/folder.js';
import { DiscoveryBuilder } from '../../src/fetchers/listing.js';
import { meetingDateIn, monthNameDate, usDate } from '../../src/fetchers/meeting.js';
import { planFetch } from '../../src/fetchers/plan.js';
import { loadPlugins } from '../../src/fetchers/registry.js';
import { incrementalSince, openSite, parseSettingFlags, SiteSettingsError } from '../../src/fetchers/site-settings.js';
import { startFixtureServer } from '../../src/samples/platforms/fixture-server.js';
import { startFolderFixture } from '../../src/samples/platforms/folder.js';
import type { PlatformFixture } from '../../src/samples/platforms/types.js';
import { readSitesFile, SitesFileInvalidError } from '../../src/sites/import-file.js';
import { validateSite } from '../../src/sites/repository.js';

describe('a discovery', () => {
  it('keeps two documents of one meeting on one day apart, with a suffix that stays the same for the same URL', () => {
    const build = (urls: string[]) => {
      const builder = new DiscoveryBuilder();
      for (const url of urls) builder.add({ kind: 'minutes', meeting: 'City  Council', date: '2024-06-13', url });
      return builder.finish().documents;
    };
    const once = build(['https://city.example/b.pdf', 'https://city.example/a.pdf']);
    expect(once.map((d) => [d.url, d.meetingSlug, d.part])).toEqual([
      ['https://city.example/a.pdf', 'CityCouncil', undefined],
      ['https://city.example/b.pdf', 'CityCouncil', expect.stringMatching(/^[0-9a-f]{8}$/)],
    ]);
    expect(build(['https://city.example/a.pdf', 'https://city.example/b.pdf'])).toEqual(once);
    expect(once[0]!.meeting).toBe('City Council');
  });

  it('lists a URL once however often a page links it, and leaves out meetings outside the dates asked for', () => {
    const builder = new DiscoveryBuilder({ since: '2024-02-01', until: '2024-03-31' });
    builder.add({ kind: 'agenda', meeting: 'Council', date: '2024-01-31', url: 'https://c.example/1.pdf' });
    builder.add({ kind: 'agenda', meeting: 'Council', date: '2024-02-01', url: 'https://c.example/2.pdf' });
    builder.add({ kind: 'agenda', meeting: 'Council', date: '2024-02-01', url: 'https://c.example/2.pdf' });
    builder.add({ kind: 'agenda', meeting: 'Council', date: '2024-04-01', url: 'https://c.example/3.pdf' });
    expect(builder.finish().documents.map((d) => d.url)).toEqual(['https://c.example/2.pdf']);
  });

  it('rejects an entry with an impossible date or a non-http link with its reason, and keeps the rest', () => {
    const builder = new DiscoveryBuilder();
    builder.add({ kind: 'minutes', meeting: 'Council', date: '2023-02-30', url: 'https://c.example/bad.pdf' });
    builder.add({ kind: 'minutes', meeting: 'Council', date: '2023-03-01', url: 'javascript:alert(1)' });
    builder.add(() => ({ kind: 'minutes', meeting: 'Council', date: usDate('13/45/2023'), url: 'https://c.example/x.pdf' }));
    builder.add({ kind: 'minutes', meeting: 'Council', date: '2023-03-02', url: 'minutes/ok.pdf' }, 'https://c.example/list/');
    const { documents, rejected } = builder.finish();
    expect(documents.map((d) => d.url)).toEqual(['https://c.example/list/minutes/ok.pdf']);
    expect(rejected.map((r) => r.reason)).toEqual([expect.stringContaining('not a real date'), expect.stringContaining('not http(s)'), expect.stringContaining('"2023-13-45" is not a real date')]);
  });
});

describe('meeting dates in the site time zone', () => {
  it('takes a zone-less date-time (Legistar) as local, and converts one with a zone', () => {
    expect(meetingDateIn('2019-07-29T00:00:00', 'America/Los_Angeles')).toBe('2019-07-29');
    expect(meetingDateIn('2023-01-11T02:00:00Z', 'America/Los_Angeles')).toBe('2023-01-10');
    expect(meetingDateIn('2023-01-11T02:00:00Z', 'Europe/London')).toBe('2023-01-11');
    expect(meetingDateIn('2023-01-10T19:00:00-05:00', 'America/Toronto')).toBe('2023-01-10');
    expect(() => meetingDateIn('next Tuesday', 'UTC')).toThrow(/not an ISO date/);
  });

  it('reads the US forms platforms print', () => {
    expect(usDate('1/7/2020')).toBe('2020-01-07');
    expect(monthNameDate('Jan 7, 2020')).toBe('2020-01-07');
    expect(monthNameDate('Tuesday, January 7th, 2020')).toBe('2020-01-07');
    expect(() => monthNameDate('Febtember 7, 2020')).toThrow();
  });
});

describe('what a fetch downloads again', () => {
  const known = { status: 'done' as const, content_sha256: 'abc', source_url: 'https://c.example/a.pdf', etag: null, last_modified: null, listed_version: null };

  it('downloads what it does not have, and what moved or changed version', () => {
    expect(planFetch({ url: 'https://c.example/a.pdf' }, undefined, false)).toBe('download');
    expect(planFetch({ url: 'https://c.example/a.pdf' }, { ...known, content_sha256: '' }, false)).toBe('download');
    expect(planFetch({ url: 'https://c.example/moved.pdf' }, known, false)).toBe('download');
    expect(planFetch({ url: 'https://c.example/a.pdf', version: 'v2' }, { ...known, listed_version: 'v1' }, false)).toBe('download');
  });

  it('asks nothing for a document whose version is the same, and asks conditionally when the server gave validators', () => {
    expect(planFetch({ url: 'https://c.example/a.pdf', version: 'v1' }, { ...known, listed_version: 'v1', etag: '"x"' }, false)).toBe('skip');
    expect(planFetch({ url: 'https://c.example/a.pdf' }, { ...known, etag: '"x"' }, false)).toBe('conditional');
    expect(planFetch({ url: 'https://c.example/a.pdf' }, known, false)).toBe('skip');
  });

  it('re-checks everything on a full fetch, and a failed document each time', () => {
    expect(planFetch({ url: 'https://c.example/a.pdf', version: 'v1' }, { ...known, listed_version: 'v1', etag: '"x"' }, true)).toBe('conditional');
    expect(planFetch({ url: 'https://c.example/a.pdf' }, known, true)).toBe('download');
    expect(planFetch({ url: 'https://c.example/a.pdf' }, { ...known, status: 'failed', last_modified: 'Sat, 31 Jan 2026 12:00:00 GMT' }, false)).toBe('conditional');
  });
});

describe('a site and its settings', () => {
  const registry = builtInRegistry();

  it('refuses a setting its fetcher does not read, naming it and what it does read', () => {
    expect(() => validateSite(registry, { subdomain: 'seattle.wa', name: 'Seattle', fetcher: 'legistar', sourceUrl: 'https://webapi.legistar.com/v1/seattle', settings: { tokn: 'x' } })).toThrow(
      /setting "tokn" means nothing to the legistar fetcher; it reads: .*time_zone/,
    );
  });

  it('refuses a bad time zone, a bad host and an unknown fetcher', () => {
    const site = { subdomain: 'seattle.wa', name: 'Seattle', fetcher: 'legistar', sourceUrl: 'https://webapi.legistar.com/v1/seattle' };
    expect(() => validateSite(registry, { ...site, settings: { time_zone: 'Pacific/Atlantis' } })).toThrow(SiteSettingsError);
    expect(() => validateSite(registry, { ...site, allowedHosts: ['https://evil.example/'] })).toThrow(/is not a host/);
    expect(() => validateSite(registry, { ...site, fetcher: 'boarddocs' })).toThrow(UnknownFetcherError);
    expect(() => validateSite(registry, { ...site, fetcher: 'folder' })).toThrow(/needs a file:\/\/ URL/);
  });

  it('parses repeated --setting flags, the last of a key winning', () => {
    expect(parseSettingFlags(['time_zone=America/Chicago', 'lookback_days=30', 'lookback_days=45'])).toEqual({ time_zone: 'America/Chicago', lookback_days: '45' });
    expect(() => parseSettingFlags(['lookback_days'])).toThrow(/not key=value/);
  });

  it('lets a site reach its URL host, its platform file hosts and the hosts it allows, and no other', () => {
    const site = { subdomain: 'seattle.wa', fetcher: 'legistar', source_url: 'https://webapi.legistar.com/v1/seattle', settings: {}, allowed_hosts: ['docs.seattle.gov'] };
    const { http } = openSite(site, registry);
    expect(http.allows(new URL('https://webapi.legistar.com/v1/seattle/events'))).toBe(true);
    expect(http.allows(new URL('https://legistar2.granicus.com/seattle/meetings/x.pdf'))).toBe(true);
    expect(http.allows(new URL('https://docs.seattle.gov/x.pdf'))).toBe(true);
    expect(http.allows(new URL('https://evil.example/x.pdf'))).toBe(false);
  });

  it('asks an incremental fetch for meetings since the last fetch less the look-back, in the site zone', () => {
    const site = { subdomain: 's.wa', fetcher: 'legistar', source_url: 'https://x.example/', allowed_hosts: [] };
    expect(incrementalSince({ ...site, settings: {}, last_fetched_at: null })).toBeUndefined();
    expect(incrementalSince({ ...site, settings: {}, last_fetched_at: new Date('2026-03-02T12:00:00Z') })).toBe('2026-01-01');
    expect(incrementalSince({ ...site, settings: { lookback_days: '0', time_zone: 'America/Los_Angeles' }, last_fetched_at: new Date('2026-03-02T03:00:00Z') })).toBe('2026-03-01');
  });
});

describe('a sites file', () => {
  const registry = builtInRegistry();

  it('imports CSV rows with settings and hosts', () => {
    const csv = [
      'subdomain,name,fetcher,url,settings,allow_hosts',
      'seattle.wa,Seattle,legistar,https://webapi.legistar.com/v1/seattle,time_zone=America/Los_Angeles;token=abc,',
      'fairview.tx,Fairview,civicplus,https://fairview.civicplus.com,,www.fairviewtexas.org',
    ].join('\n');
    const sites = readSitesFile(csv, 'csv', registry);
    expect(sites).toEqual([
      expect.objectContaining({ subdomain: 'seattle.wa', fetcher: 'legistar', settings: { time_zone: 'America/Los_Angeles', token: 'abc' }, allowedHosts: [] }),
      expect.objectContaining({ subdomain: 'fairview.tx', fetcher: 'civicplus', settings: {}, allowedHosts: ['www.fairviewtexas.org'] }),
    ]);
  });

  it('reports every bad row with its number and reason, and returns nothing', () => {
    const json = JSON.stringify([
      { subdomain: 'good.ca', fetcher: 'http-index', url: 'https://good.example/' },
      { subdomain: 'Bad_Site', fetcher: 'http-index', url: 'https://x.example/' },
      { subdomain: 'nofetch.ca', url: 'https://x.example/' },
      { subdomain: 'good.ca', fetcher: 'http-index', url: 'https://again.example/' },
      { subdomain: 'tz.ca', fetcher: 'legistar', url: 'https://webapi.legistar.com/v1/tz', settings: { time_zone: 'Mars/Olympus' } },
    ]);
    let error: unknown;
    try {
      readSitesFile(json, 'json', registry);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SitesFileInvalidError);
    expect((error as SitesFileInvalidError).errors.map((e) => [e.row, e.message.slice(0, 40)])).toEqual([
      [2, expect.stringContaining('not a valid site subdomain')],
      [3, expect.stringContaining('field fetcher')],
      [4, expect.stringContaining('already on row 1')],
      [5, expect.stringContaining('time zone')],
    ]);
  });
});

describe('fetcher plugins', () => {
  let folder: string;
  beforeAll(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'clerk-plugins-'));
  });
  afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));

  it('loads every fetcher in a plugins folder without changes to clerk', async () => {
    fs.writeFileSync(
      path.join(folder, 'boarddocs.mjs'),
      `export default { name: 'boarddocs', description: 'BoardDocs', settings: { committee: 'the committee id' },
         async discover() { return { documents: [], rejected: [] }; } };`,
    );
    const registry = new FetcherRegistry(builtInFetchers);
    await loadPlugins(registry, [folder]);
    expect(registry.names()).toEqual([...builtInFetchers.map((f) => f.name), 'boarddocs']);
    expect(registry.get('boarddocs').settings).toEqual({ committee: 'the committee id' });
  });

  it('runs the worked example in docs/FETCHERS.md as written', async () => {
    const feed = await startFixtureServer(() => ({
      json: {
        meetings: [
          { body: 'Select Board', starts: '2024-03-06T00:30:00Z', agenda: '/files/sb-agenda.pdf', minutes: '/files/sb-minutes.pdf' },
          { body: 'Select Board', starts: 'soon', agenda: '/files/bad.pdf' },
          { body: 'Planning Board', starts: '2024-03-12T19:00:00-04:00', agenda: '/files/pb-agenda.pdf', minutes: null },
        ],
      },
    }));
    try {
      const registry = new FetcherRegistry(builtInFetchers);
      await loadPlugins(registry, [path.resolve('docs/examples/json-feed-fetcher.mjs')]);
      const site = { subdomain: 'town.ma', fetcher: 'json-feed', source_url: `${feed.url}/meetings.json`, settings: { time_zone: 'America/New_York' }, allowed_hosts: [] };
      const valid = validateSite(registry, { subdomain: site.subdomain, name: 'Town', fetcher: site.fetcher, sourceUrl: site.source_url, settings: site.settings });
      expect(valid.fetcher).toBe('json-feed');
      const { fetcher, source, context } = openSite(site, registry);
      const { documents, rejected } = await fetcher.discover(source, {}, context);
      expect(documents.map((d) => [d.kind, d.meetingSlug, d.date, new URL(d.url).pathname])).toEqual([
        ['agenda', 'SelectBoard', '2024-03-05', '/files/sb-agenda.pdf'],
        ['minutes', 'SelectBoard', '2024-03-05', '/files/sb-minutes.pdf'],
        ['agenda', 'PlanningBoard', '2024-03-12', '/files/pb-agenda.pdf'],
      ]);
      expect(rejected).toEqual([{ url: `${feed.url}/files/bad.pdf`, reason: expect.stringContaining('not an ISO date') }]);
    } finally {
      await feed.close();
    }
  });

  it('refuses a plugin that exports no fetcher, one that takes a built-in name, and a package that is not installed', async () => {
    const none = path.join(folder, 'none.mjs');
    fs.writeFileSync(none, 'export const nothing = 1;');
    const clash = path.join(folder, 'clash.mjs');
    fs.writeFileSync(clash, `export const fetcher = { name: 'legistar', description: 'x', discover() {} };`);
    await expect(loadPlugins(new FetcherRegistry([]), [none])).rejects.toThrow(/exports no fetcher/);
    await expect(loadPlugins(new FetcherRegistry(builtInFetchers), [clash])).rejects.toThrow(/"legistar", which already exists/);
    await expect(loadPlugins(new FetcherRegistry([]), ['clerk-fetcher-not-installed'])).rejects.toThrow(PluginError);
  });
});

describe('the folder fetcher', () => {
  let fixture: PlatformFixture;
  beforeAll(async () => {
    fixture = await startFolderFixture();
  });
  afterAll(() => fixture?.close());

  it('lists PDFs by their folders and file names, and rejects one with no date', async () => {
    const site = { subdomain: 'archive.folder', fetcher: 'folder', source_url: fixture.baseUrl, settings: {}, allowed_hosts: [] };
    const { fetcher, source, context } = openSite(site, builtInRegistry());
    const { documents, rejected } = await fetcher.discover(source, {}, context);
    const sortKey = (d: { kind: string; meeting: string; date: string }) => `${d.date} ${d.kind} ${d.meeting}`;
    expect(documents.map((d) => ({ kind: d.kind, meeting: d.meeting, date: d.date, url: d.url })).sort((a, b) => sortKey(a).localeCompare(sortKey(b)))).toEqual(
      [...fixture.expected].sort((a, b) => sortKey(a).localeCompare(sortKey(b))),
    );
    expect(rejected).toEqual([{ url: expect.stringContaining('notes-from-the-clerk.pdf'), reason: expect.stringContaining('has no date') }]);

    const copy = path.join(os.tmpdir(), `clerk-copy-${process.pid}.pdf`);
    await folderFetcher.copyDocument!(source, documents[0]!, copy);
    expect(fs.readFileSync(copy).subarray(0, 5).toString()).toBe('%PDF-');
    fs.rmSync(copy);
  });
});
