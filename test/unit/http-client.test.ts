import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient, hostMatches, parseRetryAfter, type HttpPolicy } from '../../src/fetchers/http.js';
import { FetchError } from '../../src/fetchers/types.js';
import { startFixtureServer, type FixtureHandler, type FixtureServer } from '../../src/samples/platforms/fixture-server.js';
import { fixturePdf } from '../../src/samples/platforms/documents.js';

/** A PDF body for tests: real bytes from the fixture builder. */
let pdf: Uint8Array;
let folder: string;
const servers: FixtureServer[] = [];

async function serve(handler: FixtureHandler): Promise<FixtureServer> {
  const server = await startFixtureServer(handler);
  servers.push(server);
  return server;
}

function clientFor(server: FixtureServer, policy: Partial<HttpPolicy> = {}): HttpClient {
  return new HttpClient({ allowedHosts: [server.host], perHostDelayMs: 0, retryBaseMs: 5, ...policy });
}

function destination(): string {
  return path.join(folder, `${Math.random().toString(36).slice(2)}.pdf`);
}

async function failure(promise: Promise<unknown>): Promise<FetchError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FetchError);
  return error as FetchError;
}

beforeAll(async () => {
  pdf = await fixturePdf('minutes', 'City Council', '2026-01-05');
  folder = fs.mkdtempSync(path.join(os.tmpdir(), 'clerk-http-'));
});

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

afterAll(() => {
  fs.rmSync(folder, { recursive: true, force: true });
});

describe('downloads stream to a file', () => {
  it('writes the PDF whole, with its sha256, size and validators, and nothing else in the folder', async () => {
    const server = await serve(() => ({ pdf }));
    const target = destination();
    const result = await clientFor(server).download(`${server.url}/a.pdf`, { destination: target, maxBytes: 10_000_000 });
    expect(result).toMatchObject({ status: 'downloaded', bytes: pdf.byteLength, url: `${server.url}/a.pdf`, contentType: 'application/pdf' });
    expect(result.status === 'downloaded' && result.etag).toBeTruthy();
    expect(fs.readFileSync(target).equals(Buffer.from(pdf))).toBe(true);
    expect(fs.readdirSync(folder).filter((f) => f.endsWith('.part'))).toEqual([]);
  });

  it('asks conditionally with the last validators and downloads nothing on a 304', async () => {
    const server = await serve(() => ({ pdf }));
    const client = clientFor(server);
    const first = await client.download(`${server.url}/a.pdf`, { destination: destination(), maxBytes: 10_000_000 });
    if (first.status !== 'downloaded') throw new Error('expected a download');
    const target = destination();
    const second = await client.download(`${server.url}/a.pdf`, { destination: target, maxBytes: 10_000_000, etag: first.etag, lastModified: first.lastModified });
    expect(second).toEqual({ status: 'not-modified' });
    expect(fs.existsSync(target)).toBe(false);
    expect(server.pdfsSent()).toBe(1);
  });

  it('tells from the same conditional request whether a document is unchanged, and reads no body to say so', async () => {
    let served = pdf;
    const server = await serve(() => ({ pdf: served }));
    const client = clientFor(server);
    const first = await client.download(`${server.url}/a.pdf`, { destination: destination(), maxBytes: 10_000_000 });
    if (first.status !== 'downloaded') throw new Error('expected a download');
    const validators = { etag: first.etag, lastModified: first.lastModified };
    expect(await client.isNotModified(`${server.url}/a.pdf`, validators)).toBe(true);
    served = await fixturePdf('minutes', 'City Council', '2026-02-02');
    expect(await client.isNotModified(`${server.url}/a.pdf`, validators)).toBe(false);
    // Without validators there is nothing to ask: the answer is "download it".
    expect(await client.isNotModified(`${server.url}/a.pdf`, { etag: null, lastModified: null })).toBe(false);
    expect(fs.readdirSync(folder).filter((f) => f.endsWith('.part'))).toEqual([]);
  });

  it('refuses an HTML page served where a PDF was expected, and stores nothing', async () => {
    const server = await serve(() => ({ html: '<!doctype html><html><body>Session expired, please log in</body></html>' }));
    const target = destination();
    const error = await failure(clientFor(server).download(`${server.url}/a.pdf`, { destination: target, maxBytes: 10_000_000 }));
    expect(error).toMatchObject({ reason: 'not-pdf', permanent: true });
    expect(error.message).toContain('an HTML page');
    expect(fs.existsSync(target)).toBe(false);
    expect(fs.readdirSync(folder).filter((f) => f.endsWith('.part'))).toEqual([]);
  });

  it('refuses a body that grows past the size cap while streaming, even without a Content-Length', async () => {
    const big = Buffer.concat([Buffer.from(pdf), Buffer.alloc(300_000, 7)]);
    const server = await serve(() => ({ status: 200, body: big, headers: { 'Content-Type': 'application/pdf', 'Transfer-Encoding': 'chunked' } }));
    const error = await failure(clientFor(server).download(`${server.url}/a.pdf`, { destination: destination(), maxBytes: 100_000 }));
    expect(error).toMatchObject({ reason: 'too-large', permanent: true });
  });

  it('refuses a declared Content-Length over the cap before reading the body', async () => {
    const server = await serve(() => ({ status: 200, body: Buffer.concat([Buffer.from(pdf), Buffer.alloc(200_000)]), headers: { 'Content-Type': 'application/pdf' } }));
    const error = await failure(clientFor(server).download(`${server.url}/a.pdf`, { destination: destination(), maxBytes: 100_000 }));
    expect(error.message).toMatch(/is \d+ bytes, over the 100000-byte limit/);
  });
});

describe('retries', () => {
  it('retries 500s with backoff and succeeds when the server recovers', async () => {
    let calls = 0;
    const server = await serve(() => (++calls <= 2 ? { status: 500, body: 'oops' } : { pdf }));
    const result = await clientFor(server).download(`${server.url}/a.pdf`, { destination: destination(), maxBytes: 10_000_000 });
    expect(result.status).toBe('downloaded');
    expect(server.requests.map((r) => r.status)).toEqual([500, 500, 200]);
  });

  it('gives up after its tries with a transient error that names the status', async () => {
    const server = await serve(() => ({ status: 503, body: 'down' }));
    const error = await failure(clientFor(server, { maxAttempts: 3 }).getText(`${server.url}/listing`));
    expect(error.permanent).toBe(false);
    expect(error.message).toContain('HTTP 503');
    expect(server.requests).toHaveLength(3);
  });

  it('honours Retry-After on a 429 before asking again', async () => {
    let calls = 0;
    let firstAt = 0;
    let secondAt = 0;
    const server = await serve(() => {
      calls++;
      if (calls === 1) {
        firstAt = Date.now();
        return { status: 429, body: 'slow down', headers: { 'Retry-After': '1' } };
      }
      secondAt = Date.now();
      return { json: { ok: true } };
    });
    expect(await clientFor(server, { retryBaseMs: 1 }).getJson(`${server.url}/api`)).toEqual({ ok: true });
    expect(secondAt - firstAt).toBeGreaterThanOrEqual(900);
  });

  it('does not wait out a Retry-After longer than it is allowed to, and says so', async () => {
    const server = await serve(() => ({ status: 429, body: 'come back tomorrow', headers: { 'Retry-After': '86400' } }));
    const error = await failure(clientFor(server, { maxRetryDelayMs: 1_000 }).getText(`${server.url}/listing`));
    expect(error.message).toContain('longer than clerk waits');
    expect(server.requests).toHaveLength(1);
  });

  it('times out a server that never answers, and retries it as transient', async () => {
    const server = await serve(() => new Promise(() => {}));
    const error = await failure(clientFor(server, { listingTimeoutMs: 200, maxAttempts: 2 }).getText(`${server.url}/listing`));
    expect(error).toMatchObject({ reason: 'timeout', permanent: false });
    expect(error.message).toContain('did not answer within');
  });

  it('does not retry a 404: it is permanent and named not-found', async () => {
    const server = await serve(() => undefined);
    const error = await failure(clientFor(server).download(`${server.url}/gone.pdf`, { destination: destination(), maxBytes: 1_000 }));
    expect(error).toMatchObject({ reason: 'not-found', permanent: true });
    expect(server.requests).toHaveLength(1);
  });
});

describe('hosts', () => {
  it('follows a redirect to an allowed host (a CivicPlus site sending links to the city domain)', async () => {
    const city = await serve(() => ({ pdf }));
    const platform = await serve((request) => ({ redirect: `${city.url}${request.path}` }));
    const client = new HttpClient({ allowedHosts: [platform.host, city.host], perHostDelayMs: 0 });
    const result = await client.download(`${platform.url}/AgendaCenter/ViewFile/Minutes/_01052026-12`, { destination: destination(), maxBytes: 10_000_000 });
    expect(result).toMatchObject({ status: 'downloaded', url: `${city.url}/AgendaCenter/ViewFile/Minutes/_01052026-12` });
  });

  it('refuses a redirect to a host the site may not use, without contacting it', async () => {
    const elsewhere = await serve(() => ({ pdf }));
    const platform = await serve(() => ({ redirect: `${elsewhere.url}/x.pdf` }));
    const error = await failure(clientFor(platform).download(`${platform.url}/a.pdf`, { destination: destination(), maxBytes: 10_000_000 }));
    expect(error).toMatchObject({ reason: 'host-not-allowed', permanent: true });
    expect(error.message).toContain(`leads to another host (${elsewhere.host})`);
    expect(elsewhere.requests).toEqual([]);
  });

  it('matches host (default port only), host:port and *.domain entries', () => {
    expect(hostMatches('legistar2.granicus.com', new URL('https://legistar2.granicus.com/x.pdf'))).toBe(true);
    expect(hostMatches('*.granicus.com', new URL('https://legistar2.granicus.com/x.pdf'))).toBe(true);
    expect(hostMatches('*.granicus.com', new URL('https://granicus.com.evil.example/x.pdf'))).toBe(false);
    expect(hostMatches('127.0.0.1:8080', new URL('http://127.0.0.1:8081/'))).toBe(false);
    expect(hostMatches('127.0.0.1:8080', new URL('http://127.0.0.1:8080/'))).toBe(true);
    expect(hostMatches('city.example', new URL('https://city.example:8443/'))).toBe(false);
    expect(hostMatches('city.example', new URL('https://city.example/'))).toBe(true);
    expect(hostMatches('city.example', new URL('https://www.city.example/'))).toBe(false);
  });
});

describe('politeness', () => {
  it('never has more requests to one host in flight than its limit', async () => {
    let inFlight = 0;
    let most = 0;
    const server = await serve(async () => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 30));
      inFlight--;
      return { json: [] };
    });
    const client = clientFor(server, { perHostConcurrency: 2 });
    await Promise.all(Array.from({ length: 8 }, (_, i) => client.getJson(`${server.url}/page/${i}`)));
    expect(most).toBe(2);
    expect(server.requests).toHaveLength(8);
  });

  it('spaces the requests to one host by its delay', async () => {
    const starts: number[] = [];
    const server = await serve(() => {
      starts.push(Date.now());
      return { json: [] };
    });
    const client = clientFor(server, { perHostConcurrency: 4, perHostDelayMs: 100 });
    await Promise.all(Array.from({ length: 4 }, (_, i) => client.getJson(`${server.url}/page/${i}`)));
    const gaps = starts.slice(1).map((at, i) => at - starts[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(80);
  });
});

describe('Retry-After', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('120')).toBe(120_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});

describe('errors', () => {
  it('never quote an API token or a signature from the URL', async () => {
    const server = await serve(() => ({ status: 403, body: 'forbidden' }));
    const error = await failure(clientFor(server).getJson(`${server.url}/v1/lakeport/events?token=s3cr3t&$top=10`));
    expect(error.message).toContain('token=***');
    expect(error.message).not.toContain('s3cr3t');
  });
});
