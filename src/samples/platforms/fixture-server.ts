import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as a platform fixture sees it. */
export interface FixtureRequest {
  method: string;
  /** The path without the query, e.g. "/v1/seattle/events". */
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
}

/** What a fixture answers: JSON, HTML, a PDF (served with validators), a redirect or a status. */
export type FixtureReply =
  | { json: unknown; status?: number; headers?: Record<string, string> }
  | { html: string; status?: number; headers?: Record<string, string> }
  | { pdf: Uint8Array; lastModified?: Date; headers?: Record<string, string> }
  | { redirect: string; status?: 301 | 302 | 303 | 307 | 308 }
  | { status: number; body?: string | Uint8Array; headers?: Record<string, string> };

export type FixtureHandler = (request: FixtureRequest) => FixtureReply | undefined | Promise<FixtureReply | undefined>;

export interface RecordedRequest {
  method: string;
  /** Path and query as requested. */
  url: string;
  status: number;
  /** True for a PDF body actually sent (a 200 with a PDF, not a 304). */
  pdfSent: boolean;
}

export interface FixtureServer {
  /** "http://127.0.0.1:PORT", no trailing slash. */
  url: string;
  /** "127.0.0.1:PORT", as `--allow-host` takes it. */
  host: string;
  requests: RecordedRequest[];
  /** PDF bodies sent since the server started (304s do not count). */
  pdfsSent(): number;
  close(): Promise<void>;
}

/** Fixed, so the fixtures' Last-Modified headers are the same on every run. */
export const FIXTURE_LAST_MODIFIED = new Date(Date.UTC(2026, 0, 31, 12, 0, 0));

/**
 * A loopback HTTP server answering like a meeting platform, for tests and for trying fetchers on
 * a fresh clone. It records every request, and serves PDFs with an ETag and Last-Modified and
 * answers a matching conditional request with 304, as real file servers do.
 */
export async function startFixtureServer(handler: FixtureHandler, options: { port?: number; host?: string } = {}): Promise<FixtureServer> {
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fixture.invalid');
    const record = (status: number, pdfSent = false) => requests.push({ method: req.method ?? 'GET', url: `${url.pathname}${url.search}`, status, pdfSent });
    Promise.resolve(handler({ method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers }))
      .then((reply) => {
        if (!reply) {
          record(404);
          return send(res, 404, { 'Content-Type': 'text/plain; charset=utf-8' }, '404 not found\n');
        }
        if ('json' in reply) {
          record(reply.status ?? 200);
          return send(res, reply.status ?? 200, { 'Content-Type': 'application/json; charset=utf-8', ...reply.headers }, JSON.stringify(reply.json));
        }
        if ('html' in reply) {
          record(reply.status ?? 200);
          return send(res, reply.status ?? 200, { 'Content-Type': 'text/html; charset=utf-8', ...reply.headers }, reply.html);
        }
        if ('pdf' in reply) {
          const etag = `"${createHash('sha256').update(reply.pdf).digest('hex').slice(0, 32)}"`;
          const lastModified = (reply.lastModified ?? FIXTURE_LAST_MODIFIED).toUTCString();
          const since = req.headers['if-modified-since'];
          const unchanged = req.headers['if-none-match'] === etag || (!req.headers['if-none-match'] && since !== undefined && Date.parse(since) >= Date.parse(lastModified));
          if (unchanged) {
            record(304);
            return send(res, 304, { ETag: etag, 'Last-Modified': lastModified });
          }
          record(200, req.method !== 'HEAD');
          return send(res, 200, { 'Content-Type': 'application/pdf', ETag: etag, 'Last-Modified': lastModified, ...reply.headers }, reply.pdf);
        }
        if ('redirect' in reply) {
          record(reply.status ?? 302);
          return send(res, reply.status ?? 302, { Location: reply.redirect });
        }
        record(reply.status);
        return send(res, reply.status, reply.headers ?? {}, reply.body);
      })
      .catch((error: unknown) => {
        record(500);
        if (!res.headersSent) send(res, 500, { 'Content-Type': 'text/plain' }, `fixture error: ${String(error)}\n`);
        else res.destroy();
      });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    host: `${host}:${port}`,
    requests,
    pdfsSent: () => requests.filter((r) => r.pdfSent).length,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function send(res: http.ServerResponse, status: number, headers: Record<string, string>, body?: string | Uint8Array): void {
  const payload = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body) : Buffer.from(body);
  const chunked = Object.keys(headers).some((name) => name.toLowerCase() === 'transfer-encoding');
  res.writeHead(status, chunked ? headers : { ...headers, 'Content-Length': String(payload?.byteLength ?? 0) });
  res.end(res.req.method === 'HEAD' ? undefined : payload);
}
