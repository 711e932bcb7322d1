import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient, hostMatches } from '../../src/fetchers/http.js';
import { legistarFetcher } from '../../src/fetchers/legistar.js';
import { fetchContextFor } from '../../src/fetchers/site-settings.js';
import { ListingFormatError, type DiscoveredDocument, type SiteSource } from '../../src/fetchers/types.js';
import { startFixtureServer, type FixtureServer } from '../../src/samples/platforms/fixture-server.js';
import { startLegistarFixture } from '../../src/samples/platforms/legistar.js';
import type { ExpectedDocument, PlatformFixture } from '../../src/samples/platforms/types.js';

let fixture: PlatformFixture;

beforeAll(async () => {
  fixture = await startLegistarFixture();
});

afterAll(() => fixture.close());

function siteOf(baseUrl: string, settings: Record<string, string> = {}): SiteSource {
  return { subdomain: 'lakeport.legistar', fetcher: 'legistar', baseUrl, settings, timeZone: 'America/Los_Angeles' };
}

function httpFor(baseUrl: string, allowHosts: string[] = []): HttpClient {
  return new HttpClient({ allowedHosts: [new URL(baseUrl).host, ...allowHosts], perHostDelayMs: 0, retryBaseMs: 10 });
}

function discover(settings: Record<string, string> = {}, range: { since?: string; until?: string } = {}) {
  return legistarFetcher.discover(siteOf(fixture.baseUrl, settings), range, fetchContextFor(httpFor(fixture.baseUrl, fixture.allowHosts)));
}

function listed(documents: readonly (DiscoveredDocument | ExpectedDocument)[]): ExpectedDocument[] {
  return documents.map(({ kind, meeting, date, url }) => ({ kind, meeting, date, url })).sort((a, b) => a.url.localeCompare(b.url) || a.kind.localeCompare(b.kind));
}

/** The query of every request the API server answered since `from`, decoded. */
function apiQueries(from = 0): URLSearchParams[] {
  return fixture.servers[0]!.requests.slice(from).map((request) => new URL(request.url, 'http://fixture.invalid').searchParams);
}

describe('legistar fetcher', () => {
  it('lists each event\'s agenda and minutes, rejects the events it cannot use, and downloads nothing', async () => {
    const { documents, rejected } = await discover();

    expect(listed(documents)).toEqual(listed(fixture.expected));
    expect(rejected).toHaveLength(fixture.expectedRejected);
    expect(rejected.map((r) => r.reason)).toEqual([
      'field [2].EventDate: meeting date "2023-02-30" is not a real date',
      expect.stringMatching(/^field \[7\]\.EventBodyName: .*expected string, received null$/),
    ]);
    expect(rejected.every((r) => r.url.startsWith(`${fixture.baseUrl}/events?`))).toBe(true);
    expect(fixture.pdfsSent()).toBe(0);

    // The morning workshop and the evening meeting of 13 June are both kept, apart.
    const june13 = documents.filter((d) => d.kind === 'agenda' && d.date === '2023-06-13');
    expect(june13.map((d) => d.meetingSlug)).toEqual(['CityCouncil', 'CityCouncil']);
    expect(june13.filter((d) => d.part === undefined)).toHaveLength(1);
  });

  it('gives each document its own publication stamp as its version', async () => {
    const { documents } = await discover();
    const stampOf = (kind: string, date: string) => documents.find((d) => d.kind === kind && d.date === date && d.meeting === 'City Council')?.version;
    expect(stampOf('agenda', '2023-01-10')).toBe('2023-01-06T22:14:05.37');
    expect(stampOf('minutes', '2023-01-10')).toBe('2023-01-26T17:02:11.883');
    expect(stampOf('agenda', '2024-12-10')).toBe('2024-12-06T22:05:41.377');
  });

  it('asks Legistar only for the dates wanted and lists only their meetings', async () => {
    const before = fixture.servers[0]!.requests.length;
    const { documents, rejected } = await discover({}, { since: '2023-06-01', until: '2023-12-31' });

    expect(listed(documents)).toEqual(listed(fixture.expected.filter((d) => d.date >= '2023-06-01' && d.date <= '2023-12-31')));
    expect(documents.map((d) => d.date)).toEqual(['2023-06-13', '2023-06-13', '2023-06-13', '2023-06-13', '2023-09-20']);
    // The event without a body name (3 October) is inside the range; the impossible date is not.
    expect(rejected.map((r) => r.reason)).toEqual([expect.stringContaining('EventBodyName')]);
    const queries = apiQueries(before);
    expect(queries).toHaveLength(1);
    expect(queries[0]!.get('$filter')).toBe("EventDate ge datetime'2023-06-01' and EventDate le datetime'2023-12-31'");
  });

  it('reads every page when pages are small', async () => {
    const before = fixture.servers[0]!.requests.length;
    const { documents, rejected } = await discover({ page_size: '3' });

    expect(listed(documents)).toEqual(listed(fixture.expected));
    expect(rejected).toHaveLength(fixture.expectedRejected);
    const queries = apiQueries(before);
    // Twelve events in pages of three: four full pages, then an empty one that ends the listing.
    expect(queries.map((q) => [q.get('$top'), q.get('$skip')])).toEqual([
      ['3', '0'],
      ['3', '3'],
      ['3', '6'],
      ['3', '9'],
      ['3', '12'],
    ]);
    expect(queries.every((q) => q.get('$orderby') === 'EventId' && !q.has('$filter'))).toBe(true);
  });

  it('sends the API token with every request and shows it nowhere', async () => {
    const before = fixture.servers[0]!.requests.length;
    const { rejected } = await discover({ token: 's3cret-T0ken', page_size: '5' });

    const queries = apiQueries(before);
    expect(queries).toHaveLength(3);
    expect(queries.every((q) => q.get('token') === 's3cret-T0ken')).toBe(true);
    expect(rejected).toHaveLength(fixture.expectedRejected);
    expect(rejected.some((r) => r.url.includes('s3cret'))).toBe(false);
    expect(rejected[0]!.url).toContain('token=***');
  });

  it('keeps the token out of the error when the API refuses the request', async () => {
    const refusing = await startFixtureServer((request) =>
      request.query.get('token') === 'right' ? { json: [] } : { status: 403, body: 'Token is required', headers: { 'Content-Type': 'text/plain' } },
    );
    try {
      const failure = legistarFetcher.discover(siteOf(`${refusing.url}/v1/nyc`, { token: 'wr0ng-s3cret' }), {}, fetchContextFor(httpFor(refusing.url)));
      await expect(failure).rejects.toThrow(/\/v1\/nyc\/events\?.*token=\*\*\*.* answered HTTP 403/);
      await expect(failure).rejects.not.toThrow(/wr0ng-s3cret/);
    } finally {
      await refusing.close();
    }
  });

  it('fails the listing, naming the field, when a page is not an array of events', async () => {
    const odataV3 = await startFixtureServer(() => ({ json: { 'odata.metadata': 'https://webapi.legistar.com/v1/lakeport/$metadata#Events', value: [] } }));
    try {
      const site = siteOf(`${odataV3.url}/v1/lakeport`);
      const failure = legistarFetcher.discover(site, {}, fetchContextFor(httpFor(odataV3.url)));
      await expect(failure).rejects.toBeInstanceOf(ListingFormatError);
      await expect(failure).rejects.toThrow(/\/v1\/lakeport\/events\?.* is not the platform's documented format: field \(the whole body\): .*expected array/);
    } finally {
      await odataV3.close();
    }
  });

  it('stops, rather than loop, when a server ignores $skip', async () => {
    const page = [{ EventId: 1, EventBodyName: 'City Council', EventDate: '2023-01-10T00:00:00', EventAgendaFile: null, EventMinutesFile: null }];
    let deaf: FixtureServer | undefined;
    try {
      deaf = await startFixtureServer(() => ({ json: page }));
      const failure = legistarFetcher.discover(siteOf(`${deaf.url}/v1/lakeport`, { page_size: '1' }), {}, fetchContextFor(httpFor(deaf.url)));
      await expect(failure).rejects.toThrow(/ignores \$skip/);
      expect(deaf.requests).toHaveLength(2);
    } finally {
      await deaf?.close();
    }
  });

  it('refuses a page size Legistar cannot honour, and a token with spaces', () => {
    for (const pageSize of ['0', '1001', 'ten', '-5', '2.5']) {
      expect(() => legistarFetcher.validateSettings!({ page_size: pageSize })).toThrow(/page_size must be a whole number from 1 to 1000/);
    }
    expect(() => legistarFetcher.validateSettings!({ page_size: '1000', token: 'abc123' })).not.toThrow();
    expect(() => legistarFetcher.validateSettings!({ token: 'abc 123' })).toThrow(/token/);
  });

  it('may download from Granicus\'s file hosts', () => {
    const hosts = legistarFetcher.defaultAllowedHosts!(new URL('https://webapi.legistar.com/v1/seattle'));
    const allowed = (url: string) => hosts.some((entry) => hostMatches(entry, new URL(url)));
    expect(allowed('https://legistar2.granicus.com/seattle/meetings/2023/11/5611_A_Select_Budget_Committee_23-11-13_Committee_Agenda.pdf')).toBe(true);
    expect(allowed('http://legistar1.granicus.com/mountainview/meetings/2014/1/896_A_City_Council_14-01-07_Agenda_and_Notice.pdf')).toBe(true);
    expect(allowed('https://granicus.com.evil.example/a.pdf')).toBe(false);
  });
});
