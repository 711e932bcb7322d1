import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient, hostMatches } from '../../src/fetchers/http.js';
import { documentKind, primegovFetcher } from '../../src/fetchers/primegov.js';
import { fetchContextFor } from '../../src/fetchers/site-settings.js';
import { ListingFormatError, type DiscoveredDocument, type SiteSource } from '../../src/fetchers/types.js';
import { startFixtureServer } from '../../src/samples/platforms/fixture-server.js';
import { startPrimegovFixture } from '../../src/samples/platforms/primegov.js';
import type { ExpectedDocument, PlatformFixture } from '../../src/samples/platforms/types.js';

let fixture: PlatformFixture;

beforeAll(async () => {
  fixture = await startPrimegovFixture();
});

afterAll(() => fixture.close());

function siteOf(baseUrl: string): SiteSource {
  return { subdomain: 'bayside.primegov', fetcher: 'primegov', baseUrl, settings: {}, timeZone: 'America/Denver' };
}

function httpFor(baseUrl: string, allowHosts: string[] = []): HttpClient {
  return new HttpClient({ allowedHosts: [new URL(baseUrl).host, ...allowHosts], perHostDelayMs: 0, retryBaseMs: 10 });
}

function discover(range: { since?: string; until?: string } = {}, baseUrl = fixture.baseUrl) {
  return primegovFetcher.discover(siteOf(baseUrl), range, fetchContextFor(httpFor(fixture.baseUrl, fixture.allowHosts)));
}

function listed(documents: readonly (DiscoveredDocument | ExpectedDocument)[]): ExpectedDocument[] {
  return documents.map(({ kind, meeting, date, url }) => ({ kind, meeting, date, url })).sort((a, b) => a.url.localeCompare(b.url) || a.kind.localeCompare(b.kind));
}

/** Path and query of every request the portal answered since `from`. */
function portalRequests(from = 0): string[] {
  return fixture.servers[0]!.requests.slice(from).map((request) => decodeURIComponent(request.url));
}

describe('primegov fetcher', () => {
  it('lists the compiled agenda and minutes PDFs of every archived and upcoming meeting, and downloads nothing', async () => {
    const before = fixture.servers[0]!.requests.length;
    const { documents, rejected } = await discover();

    expect(listed(documents)).toEqual(listed(fixture.expected));
    expect(documents.every((d) => d.url.includes('compileOutputType=1'))).toBe(true);
    // Packets and meeting materials are compiled PDFs too, but not the agenda or minutes.
    expect(documents.some((d) => /meetingTemplateId=(5104|5110|5117)&/.test(d.url))).toBe(false);
    // The newest meeting is in both the 2024 archive and the upcoming list: listed once.
    expect(documents.filter((d) => d.date === '2024-12-10')).toHaveLength(1);
    expect(portalRequests(before)).toEqual([
      '/api/v2/PublicPortal/GetArchivedMeetingYears',
      '/api/v2/PublicPortal/ListArchivedMeetings?year=2023',
      '/api/v2/PublicPortal/ListArchivedMeetings?year=2024',
      '/api/v2/PublicPortal/ListUpcomingMeetings',
    ]);
    expect(fixture.pdfsSent()).toBe(0);

    expect(rejected).toHaveLength(fixture.expectedRejected);
    expect(rejected.map((r) => r.reason)).toEqual([
      'field [2].dateTime: meeting date "2023-02-30" is not a real date',
      expect.stringMatching(/^field \[6\]\.title: .*expected string, received null$/),
    ]);
    expect(rejected.every((r) => r.url === `${fixture.baseUrl}/api/v2/PublicPortal/ListArchivedMeetings?year=2023`)).toBe(true);
  });

  it('keeps two council meetings of one day apart, and dates each by its local wall-clock time', async () => {
    const { documents } = await discover({ since: '2023-06-13', until: '2023-06-13' });
    expect(documents.map((d) => [d.kind, d.meetingSlug, d.date])).toEqual([
      ['agenda', 'CityCouncilMeeting', '2023-06-13'],
      ['agenda', 'CityCouncilMeeting', '2023-06-13'],
      ['minutes', 'CityCouncilMeeting', '2023-06-13'],
      ['minutes', 'CityCouncilMeeting', '2023-06-13'],
    ]);
    expect(documents.filter((d) => d.part !== undefined)).toHaveLength(2);
  });

  it('asks only for the years wanted and lists only the meetings in range', async () => {
    const before = fixture.servers[0]!.requests.length;
    const { documents, rejected } = await discover({ since: '2024-01-01', until: '2024-06-30' });

    expect(listed(documents)).toEqual(listed(fixture.expected.filter((d) => d.date >= '2024-01-01' && d.date <= '2024-06-30')));
    expect(documents.map((d) => d.date)).toEqual(['2024-02-07', '2024-02-07', '2024-04-09', '2024-04-09']);
    expect(rejected).toEqual([]);
    const years = portalRequests(before).filter((url) => url.includes('ListArchivedMeetings'));
    expect(years).toEqual(['/api/v2/PublicPortal/ListArchivedMeetings?year=2024']);
  });

  it('gives each document its publish date as its version', async () => {
    const { documents } = await discover({ since: '2024-02-07', until: '2024-02-07' });
    expect(documents.map((d) => [d.kind, d.version])).toEqual([
      ['agenda', '2024-02-02T18:44:10.5'],
      ['minutes', '2024-02-22T15:30:02.8'],
    ]);
  });

  it('reads the portal from its origin, so the portal page\'s own URL works as --url', async () => {
    const { documents } = await discover({}, `${fixture.baseUrl}/public/portal`);
    expect(listed(documents)).toEqual(listed(fixture.expected));
  });

  it('lists links that lead, through the portal\'s redirect to blob storage, to the PDF', async () => {
    const document = fixture.expected.find((d) => d.kind === 'minutes' && d.date === '2023-01-10')!;
    const folder = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'primegov-'));
    try {
      const result = await httpFor(fixture.baseUrl, fixture.allowHosts).download(document.url, { destination: path.join(folder, 'minutes.pdf'), maxBytes: 1_000_000 });
      expect(result).toMatchObject({ status: 'downloaded', url: expect.stringMatching(`^${fixture.servers[1]!.url}/bayside/Meetings/3101/`) });
    } finally {
      await fs.promises.rm(folder, { recursive: true, force: true });
    }
  });

  it('fails the listing, naming the field, when a year\'s list is not an array of meetings', async () => {
    const changed = await startFixtureServer((request) =>
      request.path.endsWith('/GetArchivedMeetingYears') ? { json: [2024] } : { json: { meetings: [], totalCount: 0 } },
    );
    try {
      const failure = primegovFetcher.discover(siteOf(changed.url), {}, fetchContextFor(httpFor(changed.url)));
      await expect(failure).rejects.toBeInstanceOf(ListingFormatError);
      await expect(failure).rejects.toThrow(/ListArchivedMeetings\?year=2024 is not the platform's documented format: field \(the whole body\): .*expected array/);
    } finally {
      await changed.close();
    }
  });

  it('reads agendas and minutes from template names, and nothing from packets, materials or HTML', () => {
    expect(['Agenda', 'Special Meeting Agenda', 'Agenda_Amended', 'Minutes', 'Action Minutes'].map(documentKind)).toEqual(['agenda', 'agenda', 'agenda', 'minutes', 'minutes']);
    expect(['Agenda Packet', 'Complete Packet', 'Meeting Materials_Amended', 'HTML Agenda', 'HTML Minutes', 'Notice of Cancellation'].map(documentKind)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('may follow the portal\'s redirects to PrimeGov\'s Azure storage', () => {
    const hosts = primegovFetcher.defaultAllowedHosts!(new URL('https://westjordan.primegov.com'));
    expect(hosts.some((entry) => hostMatches(entry, new URL('https://pgwest.blob.core.windows.net/westjordan/Meetings/1/a.pdf')))).toBe(true);
  });
});
