import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { archiveKey, pageTextKey, pdfKey, type DocumentIdentity } from '../../src/archive/layout.js';
import type { Db } from '../../src/db/connect.js';
import type { DocumentKind } from '../../src/db/schema.js';
import { parseIndexPage } from '../../src/fetchers/http-index.js';
import { HttpClient } from '../../src/fetchers/http.js';
import { meetingSlug, normalizeMeetingName, parseMeetingDate } from '../../src/fetchers/meeting.js';
import { FetchError, type DiscoveredDocument, type Discovery } from '../../src/fetchers/types.js';
import { serveDirectory, type StaticServer } from '../../src/samples/static-server.js';
import { saveSite } from '../../src/sites/repository.js';
import { InvalidSubdomainError, parseSubdomain } from '../../src/sites/subdomain.js';
import { assertSafeKey } from '../../src/storage/document-store.js';

/*
 * Hostile input: whatever a municipal website (or a typo on the command line) hands clerk must be
 * turned away with a clear reason before it names a file, reaches another server or fills memory.
 */

const KiB = 1024;
const MiB = 1024 * KiB;
const MAX_BYTES = 64 * KiB;
const SITE = 'alameda.ca';
const INDEX = new URL('http://city.example/meetings/index.html');

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

const HOSTILE_PIECES = [
  '', ' ', '\t', '\n', '\r\n', '\u0000', '\u0007', '\u001b[2J', '\u007f', '\u0085', '\u009b', '\u00a0', '\u200b', '\u200e', '\u200f',
  '\u202e', '\u2066', '\u2028', '\ufeff', '\ud800', '\udfff', '../', '..', '.', '/', '\\', '..\\', '%2e%2e%2f', '%00', '&amp;', '&#0;',
  '&#x202e;', '&#99999999;', '&quot;', '"', "'", '<', '>', '<a href="x.pdf">', '🏛️', '👩‍⚖️', 'ﷺ', 'Ǆ', 'ß', 'İ', 'Ⅻ', 'é', 'e\u0301',
  '２０２６', '٢٠٢٦', 'City Council', 'Planning', '2026-01-05', '2024-02-29', '2023-02-29', '1899-12-31', '2101-01-01', '0000-00-00',
  '-', 'CON', 'x'.repeat(121),
];
const piece = fc.constantFrom(...HOSTILE_PIECES);
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));

/** Unicode, control characters, traversal, entities, emoji, RTL marks, empty and very long strings. */
const hostileText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 160 }),
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.string({ unit: fc.oneof(piece, loneSurrogate), maxLength: 12 }),
  fc.array(piece, { maxLength: 8 }).map((parts) => parts.join('')),
  fc.constantFrom('', '   ', '\u0000', 'a'.repeat(100_000), `${' '.repeat(5_000)}Council`, `Council${'\u202e'.repeat(200)}`, '🏛️'.repeat(300)),
);

const pad = (n: number, width: number) => String(n).padStart(width, '0');
const realDate = fc
  .date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2100-12-31T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 10));
const whitespace = fc.constantFrom('', ' ', '\t', '\n', '\u00a0', '\ufeff', '\u2028');
const hostileDate: fc.Arbitrary<string> = fc.oneof(
  hostileText,
  realDate,
  fc.tuple(whitespace, realDate, whitespace).map((parts) => parts.join('')),
  fc.tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 })).map(([y, m, d]) => `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`),
  fc.tuple(realDate, piece).map(([date, extra]) => date + extra),
);
const hostileMeeting: fc.Arbitrary<string> = fc.oneof(
  hostileText,
  fc.constantFrom('City Council', 'Planning Board', 'Comité de Café'),
  fc.tuple(hostileText, fc.constantFrom('Council', 'Board'), hostileText).map((parts) => parts.join('')),
);
const hostileKind = fc.oneof(fc.constantFrom<string | undefined>(undefined, 'minutes', 'MINUTES', 'agenda', 'Agendas', 'agendas '), hostileText);

const validSubdomain = fc
  .array(fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?$/), { minLength: 2, maxLength: 4 })
  .map((labels) => labels.join('.'));

/** encodeURIComponent, except that text it cannot encode (a lone surrogate) goes into the link raw. */
function percentEncode(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Encodes text as an HTML attribute value, so the page says exactly `text`. */
function attr(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

// ---------------------------------------------------------------------------------------------
// Shared expectations
// ---------------------------------------------------------------------------------------------

function isRealDate(date: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!match) return false;
  const [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const parsed = new Date(Date.UTC(y, m - 1, d));
  return y >= 1900 && y <= 2100 && parsed.getUTCFullYear() === y && parsed.getUTCMonth() === m - 1 && parsed.getUTCDate() === d;
}

/** Every key derived from an accepted document is a plain relative path inside the site's folder. */
function expectKeysStayInSite(subdomain: string, doc: Pick<DocumentIdentity, 'kind' | 'meetingSlug' | 'date' | 'part'>): void {
  const identity: DocumentIdentity = { subdomain, ...doc };
  for (const key of [pdfKey(identity), pageTextKey(identity, 1), pageTextKey(identity, 9_999)]) {
    expect(() => assertSafeKey(key)).not.toThrow();
    expect(key.startsWith(`${subdomain}/`)).toBe(true);
    expect(key.split('/')[0]).toBe(subdomain);
    expect(path.posix.normalize(key)).toBe(key);
    // A second document of one kind, meeting and date carries its part: 8 hex digits after the date.
    expect(key).toMatch(/^[a-z0-9.-]+\/(?:_agendas\/)?(?:pdfs|txt)\/[A-Za-z0-9]{1,120}\/\d{4}-\d{2}-\d{2}(?:-[0-9a-f]{8})?(?:\.pdf|\/\d+\.txt)$/);
  }
}

function expectSafeDocument(doc: DiscoveredDocument): void {
  expect(doc.meetingSlug).toMatch(/^[A-Za-z0-9]{1,120}$/);
  expect(isRealDate(doc.date)).toBe(true);
  expect(['minutes', 'agenda']).toContain(doc.kind);
  expect(doc.meeting.length).toBeGreaterThan(0);
  expect(doc.meeting).not.toMatch(/[\u0000-\u001f\u007f]/);
  expectKeysStayInSite(SITE, doc);
}

const CONTROL = /[\u0000-\u001f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const C1_OR_DIRECTION = /[\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/** A reason that fits on one log line: present, bounded, no C0 control characters or broken UTF-16. */
function expectLoggableReason(reason: string): void {
  expect(reason.trim().length).toBeGreaterThan(0);
  expect(reason.length).toBeLessThanOrEqual(500); // quoted input is cut to 60 characters, at most 6 each once escaped
  expect(reason).not.toMatch(CONTROL);
}

/** ...and, for text a website supplied, no DEL, C1 or text-direction characters that would hide or reorder the line. */
function expectReadableReason(reason: string): void {
  expectLoggableReason(reason);
  expect(reason).not.toMatch(C1_OR_DIRECTION);
}

function expectWellFormedDiscovery(discovery: Discovery): void {
  for (const doc of discovery.documents) expectSafeDocument(doc);
  for (const rejected of discovery.rejected) expectReadableReason(rejected.reason);
}

/** What the index page should do with one listing, worked out from the meeting rules directly. */
function expectedListing(kind: string | undefined, meeting: string, date: string): { kind: DocumentKind; meeting: string; meetingSlug: string; date: string } | undefined {
  try {
    const lower = (kind ?? 'minutes').toLowerCase();
    const parsedKind: DocumentKind | undefined = lower === 'minutes' ? 'minutes' : lower === 'agenda' || lower === 'agendas' ? 'agenda' : undefined;
    if (!parsedKind) return undefined;
    const name = normalizeMeetingName(meeting);
    return { kind: parsedKind, meeting: name, meetingSlug: meetingSlug(name), date: parseMeetingDate(date) };
  } catch {
    return undefined;
  }
}

async function expectFetchError(promise: Promise<unknown>, permanent: boolean, message: RegExp | string): Promise<FetchError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FetchError);
  const fetchError = error as FetchError;
  expect(fetchError.permanent).toBe(permanent);
  if (typeof message === 'string') expect(fetchError.message).toContain(message);
  else expect(fetchError.message).toMatch(message);
  return fetchError;
}

// ---------------------------------------------------------------------------------------------
// Local servers (127.0.0.1 / 127.0.0.2 only)
// ---------------------------------------------------------------------------------------------

interface TestServer {
  url: string;
  host: string;
  port: number;
  requests: string[];
  close(): Promise<void>;
}

async function listen(host: string, handler: http.RequestListener = (_req, res) => res.end('trap')): Promise<TestServer> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    handler(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    host: `${host}:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function freePort(host: string): Promise<number> {
  const probe = await listen(host);
  await probe.close();
  return probe.port;
}

/** Writes `total` bytes in `chunkSize` pieces, honouring back-pressure, and stops as soon as the client hangs up. */
async function pump(res: http.ServerResponse, total: number, chunkSize: number): Promise<number> {
  const chunk = Buffer.alloc(chunkSize, 0x25);
  let written = 0;
  while (written < total && !res.destroyed) {
    const size = Math.min(chunkSize, total - written);
    const ok = res.write(size === chunkSize ? chunk : chunk.subarray(0, size));
    written += size;
    if (!ok) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
  if (!res.destroyed) res.end();
  return written;
}

/**
 * One GET through a site's HTTP client allowed a single host, tried once: the path every listing
 * and download takes, without the PDF check (documents.test.ts covers that).
 */
function httpGet(url: string, options: { maxBytes: number; timeoutMs: number; allowedHost: string }): Promise<Buffer> {
  const client = new HttpClient({ allowedHosts: [options.allowedHost], listingTimeoutMs: options.timeoutMs, maxAttempts: 1, perHostDelayMs: 0 });
  return client.getBytes(url, { maxBytes: options.maxBytes }).then((response) => response.body);
}

/** Wraps the global fetch so tests can see every URL httpGet actually asks for. */
function spyOnFetch(behaviour: 'real' | 'offline') {
  const realFetch = globalThis.fetch;
  return vi.spyOn(globalThis, 'fetch').mockImplementation((input, init) => {
    if (behaviour === 'offline') return Promise.reject(new TypeError('fetch failed', { cause: { code: 'ENETUNREACH' } }));
    return realFetch(input, init);
  });
}

function requestedHosts(spy: ReturnType<typeof spyOnFetch>): string[] {
  return spy.mock.calls.map(([input]) => new URL(input instanceof Request ? input.url : String(input)).host);
}

afterEach(() => {
  vi.restoreAllMocks();
});

// ---------------------------------------------------------------------------------------------
// 1. Meeting names, dates and links from an index page
// ---------------------------------------------------------------------------------------------

describe('an index page with hostile meeting names and dates', () => {
  const listing = fc.record({ kind: hostileKind, meeting: hostileMeeting, date: hostileDate });

  it('reads every listing exactly as the page says it, accepting only safe names and real dates', () => {
    const outcomes = { accepted: 0, rejected: 0 };
    fc.assert(
      fc.property(fc.array(listing, { minLength: 1, maxLength: 6 }), (listings) => {
        const html = listings
          .map((l, i) => `<a href="listing-${i}.pdf"${l.kind === undefined ? '' : ` data-kind="${attr(l.kind)}"`} data-meeting="${attr(l.meeting)}" data-date="${attr(l.date)}">x</a>`)
          .join('\n');
        const discovery = parseIndexPage(html, INDEX);

        const accepted: DiscoveredDocument[] = [];
        const rejectedUrls: string[] = [];
        listings.forEach((l, i) => {
          const url = new URL(`listing-${i}.pdf`, INDEX).href;
          const expected = expectedListing(l.kind, l.meeting, l.date);
          if (expected) accepted.push({ ...expected, url });
          else rejectedUrls.push(url);
        });
        // Two documents of one meeting on one day are both kept (a 5 pm and a 7 pm session): all
        // but the first by URL carry a part. Discovery lists documents by date, not page order.
        const byUrl = (a: { url: string }, b: { url: string }) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0);
        expect(discovery.documents.map(({ part: _part, ...doc }) => doc).sort(byUrl)).toEqual([...accepted].sort(byUrl));
        const identities = new Set(accepted.map((d) => `${d.kind}/${d.meetingSlug}/${d.date}`));
        expect(discovery.documents.filter((d) => d.part !== undefined)).toHaveLength(accepted.length - identities.size);
        expect(discovery.rejected.map((r) => r.url)).toEqual(rejectedUrls);
        expectWellFormedDiscovery(discovery);
        outcomes.accepted += accepted.length;
        outcomes.rejected += rejectedUrls.length;
      }),
      { numRuns: 400 },
    );
    // Both sides of the rule were really exercised.
    expect(outcomes.accepted).toBeGreaterThan(100);
    expect(outcomes.rejected).toBeGreaterThan(100);
  });

  it('never throws on raw, unescaped attribute text, and still yields only safe documents and readable reasons', () => {
    fc.assert(
      fc.property(fc.array(listing, { minLength: 1, maxLength: 6 }), fc.constantFrom('"', "'", ''), (listings, quote) => {
        const html = listings
          .map((l, i) => `<a href=${quote}listing-${i}.pdf${quote} data-kind=${quote}${l.kind ?? 'minutes'}${quote} data-meeting=${quote}${l.meeting}${quote} data-date=${quote}${l.date}${quote}>`)
          .join('');
        let discovery: Discovery | undefined;
        expect(() => (discovery = parseIndexPage(html, INDEX))).not.toThrow();
        expectWellFormedDiscovery(discovery!);
      }),
      { numRuns: 300 },
    );
  });

  // Quadratic backtracking took minutes per page at this size: a regression shows as this test
  // running for minutes (and hitting the suite's timeout), not as a timing assertion.
  it('reads 200 KB pages built to make its patterns backtrack, and still lists them well formed', () => {
    const token = fc.constantFrom('a', 'data-meeting', '-', '1', ':', ' ', '\n', '=', '"', "'", '<a ', '<a', 'x=', '=x', '.pdf');
    const hostilePage = fc
      .tuple(fc.array(token, { minLength: 1, maxLength: 6 }), fc.constantFrom('', '>'), fc.constantFrom('<a href="x.pdf" ', '<a ', ''))
      .map(([tokens, end, start]) => {
        const unit = tokens.join('');
        return start + unit.repeat(Math.ceil(200_000 / unit.length)) + end;
      });
    fc.assert(
      fc.property(hostilePage, (html) => {
        expectWellFormedDiscovery(parseIndexPage(html, INDEX));
      }),
      { numRuns: 60 },
    );
  });

  it('names the problem when it turns a listing away', () => {
    const html = [
      `<a href="a.pdf" data-meeting="" data-date="2026-01-05">`,
      `<a href="b.pdf" data-meeting="${'x'.repeat(121)}" data-date="2026-01-05">`,
      `<a href="c.pdf" data-meeting="&#x202e;&#0;../.." data-date="2026-01-05">`,
      `<a href="d.pdf" data-meeting="Council" data-date="2026-01-05&#0;&#x1b;[2J">`,
      `<a href="e.pdf" data-meeting="Council" data-date="${'9'.repeat(10_000)}">`,
      `<a href="f.pdf" data-kind="\u001b]0;pwned\u0007" data-meeting="Council" data-date="2026-01-05">`,
      `<a href="g.pdf" data-meeting="Council" data-date="2026-02-29">`,
    ].join('');
    const { documents, rejected } = parseIndexPage(html, INDEX);
    expect(documents).toEqual([]);
    for (const r of rejected) expectReadableReason(r.reason);
    expect(rejected.map((r) => r.reason)).toEqual([
      'meeting name is empty',
      'meeting name is longer than 120 characters',
      expect.stringMatching(/^meeting name ".*" has no letters or digits/),
      // "&#0;" is U+FFFD, as the HTML standard decodes it; the escape character is shown escaped.
      expect.stringMatching(/^meeting date "2026-01-05\ufffd\\u001b\[2J" is not YYYY-MM-DD$/),
      expect.stringMatching(/^meeting date "9{60}…" is not YYYY-MM-DD$/),
      expect.stringMatching(/^unknown document kind "\\u001b\]0;pwned\\u0007"$/),
      'meeting date "2026-02-29" is not a real date',
    ]);
  });

  it('takes meeting and date from the link path when the attributes are missing, and that path cannot climb out of the site folder', () => {
    const segment = fc.oneof(hostileText, fc.constantFrom('..', '.', '%2e%2e', '..%2f..', 'Council', 'minutes', 'agendas'));
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 5 }), fc.oneof(hostileDate, realDate), (segments, date) => {
        const href = [...segments.map(percentEncode), `${percentEncode(date)}.pdf`].join('/');
        const raw = [...segments, `${date}.pdf`].join('/');
        for (const link of [href, raw]) {
          let discovery: Discovery | undefined;
          expect(() => (discovery = parseIndexPage(`<a href="${attr(link)}">`, INDEX))).not.toThrow();
          expectWellFormedDiscovery(discovery!);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('links to other hosts and non-http schemes in an index page', () => {
  const hostileHref = fc.oneof(
    fc.constantFrom(
      'javascript:alert(1)//x.pdf',
      'JaVaScRiPt:fetch("//evil.example")/x.pdf',
      'data:text/html,<script>alert(1)</script>x.pdf',
      'data:application/pdf;base64,JVBERi0xLjQK/x.pdf',
      'file:///etc/passwd.pdf',
      'ftp://city.example/minutes/x.pdf',
      'blob:http://city.example/x.pdf',
      'http://evil.example/minutes/Council/2026-01-05.pdf',
      '//evil.example/x.pdf',
      '\\\\evil.example\\x.pdf',
      'https://city.example.evil.example/x.pdf',
      'http://city.example@evil.example/x.pdf',
      'http://evil.example\\@city.example/x.pdf',
      'http://city.example:8080/x.pdf',
      'http://[::1]/x.pdf',
      'http://0x7f.1/x.pdf',
      'http://city.example/x.pdf',
      'HTTP://CITY.EXAMPLE:80/x.pdf',
      '../../../../etc/passwd.pdf',
      '/..%2f..%2fetc/passwd.pdf',
      'minutes/..%2F..%2F/2026-01-05.pdf',
      '%E0%A4%A.pdf',
      ' \u0000\tjavascript:x.pdf',
    ),
    fc.webUrl({ validSchemes: ['http', 'https', 'ftp', 'file', 'javascript', 'data'] }).map((u) => `${u}/x.pdf`),
    fc.tuple(fc.domain(), fc.option(fc.integer({ min: 1, max: 65_535 }), { nil: undefined })).map(([host, port]) => `http://${host}${port ? `:${port}` : ''}/x.pdf`),
    fc.tuple(fc.constantFrom('', '/', '../', './', '//', 'http:'), hostileText).map(([prefix, text]) => `${prefix}${text}.pdf`),
  );

  it('discovery keeps a .pdf link wherever it points, but download refuses anything off the index host without sending a request', async () => {
    const downloads = { refused: 0, attempted: 0 };
    await fc.assert(
      fc.asyncProperty(hostileHref, async (href) => {
        const discovery = parseIndexPage(`<a href="${attr(href)}" data-meeting="City Council" data-date="2026-01-05">`, INDEX);
        expectWellFormedDiscovery(discovery);
        for (const doc of discovery.documents) {
          const spy = spyOnFetch('offline');
          const url = new URL(doc.url);
          const sameHost = (url.protocol === 'http:' || url.protocol === 'https:') && url.host === INDEX.host;
          const download = httpGet(doc.url, { maxBytes: MAX_BYTES, timeoutMs: 5_000, allowedHost: INDEX.host });
          if (sameHost) {
            // On the index host the request is made (here: to an offline network), and failing to reach it is worth a retry.
            await expectFetchError(download, false, 'could not reach');
            expect(requestedHosts(spy)).toEqual([INDEX.host]);
            downloads.attempted++;
          } else {
            await expectFetchError(download, true, /leads to another host|is not an http\(s\) URL/);
            expect(spy).not.toHaveBeenCalled();
            downloads.refused++;
          }
          spy.mockRestore();
        }
      }),
      { numRuns: 300 },
    );
    expect(downloads.refused).toBeGreaterThan(50);
    expect(downloads.attempted).toBeGreaterThan(10);
  });

  describe('against real local servers', () => {
    let index: TestServer;
    let trap: TestServer;

    beforeAll(async () => {
      index = await listen('127.0.0.1', (_req, res) => res.end('%PDF-1.4 fine'));
      trap = await listen('127.0.0.2');
    });
    afterAll(async () => {
      await index?.close();
      await trap?.close();
    });

    it('a PDF link to another host is listed, then refused at download with a permanent error naming that host, and the host is never contacted', async () => {
      const indexUrl = new URL(`${index.url}/index.html`);
      const html = `
        <a href="${trap.url}/minutes/Council/2026-01-05.pdf">off-site, from the path</a>
        <a href="//${trap.host}/x.pdf" data-meeting="Finance" data-date="2026-01-06">protocol-relative</a>
        <a href="http://${index.host}@${trap.host}/y.pdf" data-meeting="Parks" data-date="2026-01-07">userinfo trick</a>
        <a href="/minutes/Council/2026-01-08.pdf">same host</a>`;
      const { documents, rejected } = parseIndexPage(html, indexUrl);
      expect(rejected).toEqual([]);
      expect(documents.map((d) => new URL(d.url).host)).toEqual([trap.host, trap.host, trap.host, index.host]);

      for (const doc of documents.slice(0, 3)) {
        // fetchSite downloads with allowedHost = the index host; a permanent FetchError is recorded as 'host-not-allowed'.
        const error = await expectFetchError(httpGet(doc.url, { maxBytes: MAX_BYTES, timeoutMs: 5_000, allowedHost: indexUrl.host }), true, `another host (${trap.host})`);
        expect(error.message).toContain(`only ${index.host} is allowed`);
      }
      const ok = await httpGet(documents[3]!.url, { maxBytes: MAX_BYTES, timeoutMs: 5_000, allowedHost: indexUrl.host });
      expect(ok.toString()).toBe('%PDF-1.4 fine');
      expect(trap.requests).toEqual([]);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// 2. Redirects
// ---------------------------------------------------------------------------------------------

describe('redirects', () => {
  let root: string;
  let site: StaticServer;
  let trap2: TestServer; // 127.0.0.2: another host on this machine
  let trap1: TestServer; // 127.0.0.1 on another port: another host too, as far as a URL is concerned
  let sitePort: number;
  const get = (pathname: string, allowedHost = `127.0.0.1:${sitePort}`) =>
    httpGet(`${site.url}${pathname}`, { maxBytes: MAX_BYTES, timeoutMs: 5_000, allowedHost });

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'clerk-hostile-'));
    fs.mkdirSync(path.join(root, 'minutes'));
    fs.writeFileSync(path.join(root, 'minutes', 'real.pdf'), '%PDF-1.4 the real one');
    trap2 = await listen('127.0.0.2');
    trap1 = await listen('127.0.0.1');
    sitePort = await freePort('127.0.0.1');
    const self = `http://127.0.0.1:${sitePort}`;
    site = await serveDirectory(root, {
      port: sitePort,
      redirects: {
        '/to-other-ip.pdf': `http://127.0.0.2:${trap2.port}/x.pdf`,
        '/to-other-port.pdf': `http://127.0.0.1:${trap1.port}/x.pdf`,
        '/to-evil.pdf': 'http://evil.example/x.pdf',
        '/to-evil-https.pdf': 'https://evil.example/x.pdf',
        '/protocol-relative.pdf': `//127.0.0.2:${trap2.port}/x.pdf`,
        '/userinfo.pdf': `http://127.0.0.1:${sitePort}@127.0.0.2:${trap2.port}/x.pdf`,
        '/to-javascript.pdf': 'javascript:alert(1)',
        '/to-file.pdf': 'file:///etc/passwd',
        '/hop-1.pdf': `${self}/hop-2.pdf`,
        '/hop-2.pdf': `http://127.0.0.2:${trap2.port}/x.pdf`,
        '/old.pdf': `${self}/minutes/real.pdf`,
        '/relative.pdf': 'minutes/real.pdf',
        '/chain-1.pdf': `${self}/chain-2.pdf`,
        '/chain-2.pdf': '/chain-3.pdf',
        '/chain-3.pdf': `${self}/minutes/real.pdf`,
        '/loop-a.pdf': `${self}/loop-b.pdf`,
        '/loop-b.pdf': `${self}/loop-a.pdf`,
        '/self.pdf': `${self}/self.pdf`,
      },
    });
  });

  afterAll(async () => {
    await site?.close();
    await trap1?.close();
    await trap2?.close();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it.each([
    ['/to-other-ip.pdf', () => `127.0.0.2:${trap2.port}`],
    ['/to-other-port.pdf', () => `127.0.0.1:${trap1.port}`],
    ['/to-evil.pdf', () => 'evil.example'],
    ['/to-evil-https.pdf', () => 'evil.example'],
    ['/protocol-relative.pdf', () => `127.0.0.2:${trap2.port}`],
    ['/userinfo.pdf', () => `127.0.0.2:${trap2.port}`],
    ['/hop-1.pdf', () => `127.0.0.2:${trap2.port}`],
  ])('a redirect from %s to another host is refused before any request reaches it', async (pathname, otherHost) => {
    const spy = spyOnFetch('real');
    const error = await expectFetchError(get(pathname), true, `leads to another host (${otherHost()})`);
    expect(error.message).toContain(`only 127.0.0.1:${sitePort} is allowed`);
    expect(requestedHosts(spy).every((host) => host === `127.0.0.1:${sitePort}`)).toBe(true);
    expect(trap1.requests).toEqual([]);
    expect(trap2.requests).toEqual([]);
  });

  it.each(['/to-javascript.pdf', '/to-file.pdf'])('a redirect from %s to a non-http scheme is refused as permanent', async (pathname) => {
    await expectFetchError(get(pathname), true, 'is not an http(s) URL');
  });

  it.each(['/old.pdf', '/relative.pdf', '/chain-1.pdf'])('a same-host redirect from %s is followed to the document', async (pathname) => {
    expect((await get(pathname)).toString()).toBe('%PDF-1.4 the real one');
  });

  it.each(['/loop-a.pdf', '/self.pdf'])('a redirect loop from %s stops after a few hops with a clear, permanent error', async (pathname) => {
    const spy = spyOnFetch('real');
    await expectFetchError(get(pathname), true, /redirected more than \d+ times/);
    expect(spy.mock.calls.length).toBeGreaterThan(1);
    expect(spy.mock.calls.length).toBeLessThanOrEqual(6);
  });

  it('a redirect to any other host, however it is spelled, is refused with that host named and nothing sent there', async () => {
    let location = '';
    const redirector = await listen('127.0.0.1', (_req, res) => {
      res.writeHead(302, { Location: location, 'Content-Length': 0 });
      res.end();
    });
    const base = `${redirector.url}/doc.pdf`;
    const otherLocation = fc.oneof(
      fc.constantFrom(
        `http://127.0.0.2:${trap2.port}/x.pdf`,
        `HTTP://127.0.0.2:${trap2.port}/x.pdf`,
        `//127.0.0.2:${trap2.port}/x.pdf`,
        `http://127.0.0.1:${trap1.port}/x.pdf`,
        `http://${redirector.host}@127.0.0.2:${trap2.port}/x.pdf`,
        `http://localhost:${redirector.port}/x.pdf`,
        `http://[::1]:${redirector.port}/x.pdf`,
        `http://2130706434:${trap2.port}/x.pdf`,
        `http://127.0.0.1/x.pdf`,
        `https://127.0.0.2:${trap2.port}/x.pdf`,
      ),
      fc.tuple(fc.constantFrom('http', 'https', 'HTTP'), fc.domain(), fc.option(fc.integer({ min: 1, max: 65_535 }), { nil: undefined }), fc.webPath()).map(
        ([scheme, host, port, p]) => `${scheme}://${host}${port ? `:${port}` : ''}${p}`,
      ),
      fc.tuple(fc.ipV4(), fc.integer({ min: 1, max: 65_535 })).map(([ip, port]) => `http://${ip}:${port}/x.pdf`),
    );
    try {
      await fc.assert(
        fc.asyncProperty(otherLocation, async (candidate) => {
          const target = new URL(candidate, base);
          fc.pre(target.host !== redirector.host);
          location = candidate;
          const spy = spyOnFetch('real');
          await expectFetchError(
            httpGet(base, { maxBytes: MAX_BYTES, timeoutMs: 5_000, allowedHost: redirector.host }),
            true,
            `leads to another host (${target.host})`,
          );
          expect(requestedHosts(spy)).toEqual([redirector.host]);
          spy.mockRestore();
        }),
        { numRuns: 150 },
      );
    } finally {
      await redirector.close();
    }
    expect(trap1.requests).toEqual([]);
    expect(trap2.requests).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// 3. Oversize downloads
// ---------------------------------------------------------------------------------------------

describe('oversize downloads', () => {
  it('a Content-Length over the limit is refused without reading the body, and the connection is dropped', async () => {
    let closedEarly: Promise<boolean> = Promise.resolve(false);
    const server = await listen('127.0.0.1', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/pdf', 'Content-Length': String(100 * MiB) });
      res.flushHeaders(); // headers only: a client that waited for the body would hang here
      closedEarly = new Promise((resolve) => res.on('close', () => resolve(!res.writableFinished)));
    });
    try {
      await expectFetchError(
        httpGet(`${server.url}/big.pdf`, { maxBytes: MAX_BYTES, timeoutMs: 10_000, allowedHost: server.host }),
        true,
        `is ${100 * MiB} bytes, over the ${MAX_BYTES}-byte limit`,
      );
      expect(await closedEarly).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('any declared size over the limit is refused up front; any body within it arrives intact', async () => {
    let plan: { declared: number } | { body: Buffer; chunk: number } = { declared: 0 };
    const server = await listen('127.0.0.1', (_req, res) => {
      if ('declared' in plan) {
        res.writeHead(200, { 'Content-Length': String(plan.declared) });
        res.flushHeaders();
        return;
      }
      res.writeHead(200); // no Content-Length: chunked
      const { body, chunk } = plan;
      for (let at = 0; at < body.length; at += chunk) res.write(body.subarray(at, at + chunk));
      res.end();
    });
    const get = () => httpGet(`${server.url}/x.pdf`, { maxBytes: MAX_BYTES, timeoutMs: 10_000, allowedHost: server.host });
    try {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: MAX_BYTES + 1, max: 2 ** 40 }), async (declared) => {
          plan = { declared };
          await expectFetchError(get(), true, `is ${declared} bytes, over the ${MAX_BYTES}-byte limit`);
        }),
        { numRuns: 100 },
      );
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 2 * MAX_BYTES }), fc.integer({ min: 1, max: 32 * KiB }), async (size, chunk) => {
          const body = Buffer.alloc(size, size % 251);
          plan = { body, chunk };
          if (size <= MAX_BYTES) expect((await get()).equals(body)).toBe(true);
          else await expectFetchError(get(), true, `is over the ${MAX_BYTES}-byte limit`);
        }),
        { numRuns: 100 },
      );
    } finally {
      await server.close();
    }
  });

  it('an endless chunked response is cut off once it passes the limit, and the server sees the connection close', async () => {
    const LIMIT_OF_THE_TEST = 512 * MiB; // the server gives up here, so a broken client fails the test instead of hanging it
    let served: Promise<{ written: number; closedByClient: boolean }> | undefined;
    const server = await listen('127.0.0.1', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/pdf' });
      served = pump(res, LIMIT_OF_THE_TEST, 16 * KiB).then((written) => ({ written, closedByClient: !res.writableFinished }));
    });
    try {
      await expectFetchError(
        httpGet(`${server.url}/endless.pdf`, { maxBytes: MAX_BYTES, timeoutMs: 20_000, allowedHost: server.host }),
        true,
        `is over the ${MAX_BYTES}-byte limit`,
      );
      const outcome = await served!;
      expect(outcome.closedByClient).toBe(true);
      // Socket buffers may hold a few MiB; streaming the whole thing would be 512 MiB.
      expect(outcome.written).toBeLessThan(32 * MiB);
    } finally {
      await server.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// 4. Subdomains in storage keys
// ---------------------------------------------------------------------------------------------

describe('subdomains in storage keys', () => {
  it('any subdomain parseSubdomain accepts gives keys that pass assertSafeKey and start with "<subdomain>/"', () => {
    const candidate = fc.oneof(validSubdomain, fc.domain(), hostileText, fc.tuple(validSubdomain, piece, validSubdomain).map((parts) => parts.join('')));
    const slug = hostileMeeting.map((m) => expectedListing('minutes', m, '2026-01-05')?.meetingSlug ?? 'Council');
    let accepted = 0;
    fc.assert(
      fc.property(candidate, fc.constantFrom<DocumentKind>('minutes', 'agenda'), slug, realDate, (input, kind, meetingSlugValue, date) => {
        let subdomain: string;
        try {
          subdomain = parseSubdomain(input);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidSubdomainError);
          return;
        }
        accepted++;
        expectKeysStayInSite(subdomain, { kind, meetingSlug: meetingSlugValue, date });
        for (const key of [archiveKey(subdomain, 'full'), archiveKey(subdomain, 'fast')]) {
          expect(() => assertSafeKey(key)).not.toThrow();
          expect(key.startsWith(`${subdomain}/`)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
    expect(accepted).toBeGreaterThan(50); // the property really exercised accepted subdomains
  });
});

// ---------------------------------------------------------------------------------------------
// 5. Before any side effect
// ---------------------------------------------------------------------------------------------

/** A database stand-in that records and throws on any use at all. */
function untouchableDb(): { db: Db; touches: string[] } {
  const touches: string[] = [];
  const handler: ProxyHandler<() => void> = {};
  const traps = ['get', 'set', 'has', 'apply', 'construct', 'defineProperty', 'deleteProperty', 'getOwnPropertyDescriptor', 'ownKeys', 'getPrototypeOf', 'setPrototypeOf', 'isExtensible', 'preventExtensions'] as const;
  for (const trap of traps) {
    (handler as Record<string, unknown>)[trap] = (_target: unknown, property?: unknown) => {
      touches.push(typeof property === 'string' ? `${trap} ${property}` : trap);
      throw new Error(`the database was touched (${trap})`);
    };
  }
  return { db: new Proxy(() => {}, handler) as unknown as Db, touches };
}

describe('saveSite checks its input before touching the database', () => {
  const anySite = fc.record({ name: hostileText, fetcher: fc.oneof(fc.constant('http-index'), hostileText), sourceUrl: fc.oneof(fc.webUrl(), hostileText) });

  it('a malformed subdomain fails with InvalidSubdomainError, the same one parseSubdomain gives, and the database is never touched', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(hostileText, fc.tuple(validSubdomain, piece).map(([s, p]) => s + p), fc.constantFrom('Alameda.CA', '../etc', 'a', 'alameda..ca')), anySite, async (subdomain, site) => {
        let expected: unknown;
        try {
          parseSubdomain(subdomain);
          return; // a valid subdomain is the next test's business
        } catch (error) {
          expected = error;
        }
        const { db, touches } = untouchableDb();
        const error = await saveSite(db, { ...site, subdomain }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(InvalidSubdomainError);
        expect((error as Error).message).toBe((expected as Error).message);
        expectLoggableReason((error as Error).message);
        expect(touches).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('with a valid subdomain, an unknown fetcher or a non-http(s) source URL is also refused before the database', async () => {
    const badSite = fc.oneof(
      fc.record({ fetcher: hostileText.filter((f) => f !== 'http-index'), sourceUrl: fc.webUrl() }),
      fc.record({ fetcher: fc.constant('http-index'), sourceUrl: fc.oneof(hostileText, fc.constantFrom('javascript:alert(1)', 'file:///etc/passwd', 'data:,x', 'ftp://city.example/')) }).filter(
        ({ sourceUrl }) => !URL.canParse(sourceUrl) || !['http:', 'https:'].includes(new URL(sourceUrl).protocol),
      ),
    );
    await fc.assert(
      fc.asyncProperty(validSubdomain, badSite, async (subdomain, site) => {
        const { db, touches } = untouchableDb();
        await expect(saveSite(db, { subdomain, name: 'x', ...site })).rejects.toThrow(/unknown fetcher|is not a URL|fetcher needs an http\(s\) URL/);
        expect(touches).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it('(the stand-in really notices) a fully valid site does reach the database', async () => {
    const { db, touches } = untouchableDb();
    await expect(saveSite(db, { subdomain: SITE, name: 'Alameda', fetcher: 'http-index', sourceUrl: 'http://city.example/index.html' })).rejects.toThrow('the database was touched');
    expect(touches.length).toBeGreaterThan(0);
  });
});
