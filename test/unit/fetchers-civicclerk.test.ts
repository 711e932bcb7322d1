import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { civicclerkFetcher } from '../../src/fetchers/civicclerk.js';
import { HttpClient } from '../../src/fetchers/http.js';
import { fetchContextFor } from '../../src/fetchers/site-settings.js';
import { ListingFormatError, type DiscoveredDocument, type SiteSource } from '../../src/fetchers/types.js';
import { startCivicclerkFixture } from '../../src/samples/platforms/civicclerk.js';
import { startFixtureServer } from '../../src/samples/platforms/fixture-server.js';
import type { ExpectedDocument, PlatformFixture } from '../../src/samples/platforms/types.js';

let fixture: PlatformFixture;

beforeAll(async () => {
  fixture = await startCivicclerkFixture();
});

afterAll(() => fixture.close());

function siteOf(baseUrl: string, timeZone: string): SiteSource {
  return { subdomain: 'millbrook.civicclerk', fetcher: 'civicclerk', baseUrl, settings: {}, timeZone };
}

function httpFor(baseUrl: string): HttpClient {
  return new HttpClient({ allowedHosts: [new URL(baseUrl).host], perHostDelayMs: 0, retryBaseMs: 10 });
}

function discover(range: { since?: string; until?: string } = {}, timeZone = fixture.settings.time_zone!) {
  return civicclerkFetcher.discover(siteOf(fixture.baseUrl, timeZone), range, fetchContextFor(httpFor(fixture.baseUrl)));
}

function listed(documents: readonly (DiscoveredDocument | ExpectedDocument)[]): ExpectedDocument[] {
  return documents.map(({ kind, meeting, date, url }) => ({ kind, meeting, date, url })).sort((a, b) => a.url.localeCompare(b.url) || a.kind.localeCompare(b.kind));
}

/** The query of every request the API answered since `from`, decoded. */
function apiQueries(from = 0): URLSearchParams[] {
  return fixture.servers[0]!.requests.slice(from).map((request) => new URL(request.url, 'http://fixture.invalid').searchParams);
}

describe('civicclerk fetcher', () => {
  it('lists each event\'s published agenda and minutes across every page, and downloads nothing', async () => {
    const before = fixture.servers[0]!.requests.length;
    const { documents, rejected } = await discover();

    expect(listed(documents)).toEqual(listed(fixture.expected));
    expect(documents.every((d) => /\/Meetings\/GetMeetingFileStream\(fileId=\d+,plainText=false\)$/.test(d.url))).toBe(true);
    // Packets, notices and "Other" files are published too, but are not the agenda or minutes.
    expect(documents.some((d) => /fileId=(702|710|716|721|723),/.test(d.url))).toBe(false);
    // Twelve events, five a page: the second and third pages come from @odata.nextLink.
    expect(apiQueries(before).map((q) => q.get('$skip'))).toEqual([null, '5', '10']);
    expect(fixture.pdfsSent()).toBe(0);

    expect(rejected).toHaveLength(fixture.expectedRejected);
    // Ordered by startDateTime, the undated event comes first, as OData sorts nulls.
    expect(rejected.map((r) => r.reason)).toEqual([
      expect.stringMatching(/^field \[0\]\.startDateTime: .*expected string, received null$/),
      'field [3].startDateTime: meeting date "2023-02-30" is not a real date',
    ]);
    expect(rejected.every((r) => r.url.startsWith(`${fixture.baseUrl}/Events?`))).toBe(true);
  });

  it('dates an evening meeting by the site\'s time zone, not by its UTC instant', async () => {
    // 2023-01-11T02:00:00Z is 6 pm on 10 January in Los Angeles.
    const pacific = await discover({ since: '2023-01-10', until: '2023-01-10' });
    expect(pacific.documents.map((d) => [d.kind, d.meeting, d.date])).toEqual([
      ['agenda', 'City Council', '2023-01-10'],
      ['minutes', 'City Council', '2023-01-10'],
    ]);
    const utc = await discover({ since: '2023-01-11', until: '2023-01-11' }, 'UTC');
    expect(utc.documents.map((d) => [d.kind, d.date])).toEqual([
      ['agenda', '2023-01-11'],
      ['minutes', '2023-01-11'],
    ]);
  });

  it('keeps the special and the regular council meeting of one day apart', async () => {
    // 4 pm and 7 pm Pacific on 13 June: the second is already 14 June in UTC.
    const { documents } = await discover({ since: '2023-06-13', until: '2023-06-13' });
    expect(documents.map((d) => [d.kind, d.meetingSlug, d.date])).toEqual([
      ['agenda', 'CityCouncil', '2023-06-13'],
      ['agenda', 'CityCouncil', '2023-06-13'],
      ['minutes', 'CityCouncil', '2023-06-13'],
      ['minutes', 'CityCouncil', '2023-06-13'],
    ]);
    expect(documents.filter((d) => d.part !== undefined)).toHaveLength(2);
  });

  it('filters on startDateTime a day wider than asked, and lists only the dates asked for', async () => {
    const before = fixture.servers[0]!.requests.length;
    const { documents, rejected } = await discover({ since: '2024-01-01', until: '2024-12-31' });

    expect(listed(documents)).toEqual(listed(fixture.expected.filter((d) => d.date >= '2024-01-01')));
    expect(rejected).toEqual([]);
    const queries = apiQueries(before);
    expect(queries).toHaveLength(1);
    expect(queries[0]!.get('$filter')).toBe('startDateTime ge 2023-12-31T00:00:00Z and startDateTime lt 2025-01-02T00:00:00Z');
    expect(queries[0]!.get('$orderby')).toBe('startDateTime asc, eventName asc');
  });

  it('gives each file its publishing time as its version', async () => {
    const { documents } = await discover({ since: '2024-02-13', until: '2024-02-13' });
    expect(documents.map((d) => [d.kind, d.version])).toEqual([
      ['agenda', '2024-02-09T23:00:00Z'],
      ['minutes', '2024-02-28T18:20:00Z'],
    ]);
  });

  it('fails the listing, naming the field, when a page has no list of events', async () => {
    const changed = await startFixtureServer(() => ({ json: { '@odata.context': 'https://millbrook.api.civicclerk.com/v1/$metadata#Events', events: [] } }));
    try {
      const failure = civicclerkFetcher.discover(siteOf(`${changed.url}/v1`, 'UTC'), {}, fetchContextFor(httpFor(changed.url)));
      await expect(failure).rejects.toBeInstanceOf(ListingFormatError);
      await expect(failure).rejects.toThrow(/\/v1\/Events\?.* is not the platform's documented format: field value: .*expected array/);
    } finally {
      await changed.close();
    }
  });

  it('stops, rather than loop, when @odata.nextLink leads back to a page already read', async () => {
    const looping = await startFixtureServer((request) => ({
      json: { value: [], '@odata.nextLink': `http://${request.headers.host}/v1/Events?$skip=${request.query.get('$skip') === '5' ? 0 : 5}` },
    }));
    try {
      const failure = civicclerkFetcher.discover(siteOf(`${looping.url}/v1`, 'UTC'), {}, fetchContextFor(httpFor(looping.url)));
      await expect(failure).rejects.toThrow(/@odata.nextLink loops/);
      expect(looping.requests).toHaveLength(3);
    } finally {
      await looping.close();
    }
  });
});
