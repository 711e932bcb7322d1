import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface ServeDirectoryOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Defaults to 127.0.0.1: the server is for tests and the local dev stack only. */
  host?: string;
  /** Test hook: request path (e.g. "/minutes/x.pdf") -> absolute URL, answered with a 302. */
  redirects?: Record<string, string>;
}

export interface StaticServer {
  /** Base URL without a trailing slash, e.g. "http://127.0.0.1:41234". */
  url: string;
  port: number;
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.pdf': 'application/pdf',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
};

/**
 * A tiny static file server over rootDir: GET and HEAD only, 404 for anything missing, 403 for
 * any path that tries to climb out of rootDir. A directory serves its index.html.
 */
export async function serveDirectory(rootDir: string, options: ServeDirectoryOptions = {}): Promise<StaticServer> {
  const root = fs.realpathSync(path.resolve(rootDir));
  const redirects = options.redirects ?? {};
  const server = http.createServer((request, response) => {
    handle(root, redirects, request, response).catch(() => {
      if (!response.headersSent) send(response, 500, 'internal error');
      else response.destroy();
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

async function handle(root: string, redirects: Record<string, string>, request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('Allow', 'GET, HEAD');
    return send(response, 405, 'method not allowed');
  }
  const rawPath = (request.url ?? '/').split(/[?#]/)[0]!;
  const redirect = redirects[rawPath];
  if (redirect !== undefined) {
    response.writeHead(302, { Location: redirect, 'Content-Length': 0 });
    response.end();
    return;
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return send(response, 400, 'bad request');
  }
  // Refuse rather than normalise: a request naming ".." (raw or percent-encoded) or a NUL is hostile.
  if (decoded.includes('\0') || decoded.split(/[/\\]/).includes('..') || !decoded.startsWith('/')) {
    return send(response, 403, 'forbidden');
  }
  let filePath = path.join(root, decoded);
  if (filePath !== root && !filePath.startsWith(root + path.sep)) return send(response, 403, 'forbidden');

  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(filePath);
    if (stat.isDirectory()) {
      filePath = path.join(filePath, 'index.html');
      stat = await fs.promises.stat(filePath);
    }
    // A symlink inside root must not lead outside it either.
    const real = await fs.promises.realpath(filePath);
    if (!real.startsWith(root + path.sep)) return send(response, 403, 'forbidden');
  } catch {
    return send(response, 404, 'not found');
  }
  if (!stat.isFile()) return send(response, 404, 'not found');

  // A conditional request for a file not modified since answers 304, as real web servers do.
  const since = Date.parse(request.headers['if-modified-since'] ?? '');
  if (!Number.isNaN(since) && Math.floor(stat.mtimeMs / 1000) * 1000 <= since) {
    response.writeHead(304, { 'Last-Modified': stat.mtime.toUTCString() });
    response.end();
    return;
  }
  response.writeHead(200, {
    'Content-Type': CONTENT_TYPES[path.extname(filePath).toLowerCase()] ?? 'application/octet-stream',
    'Content-Length': stat.size,
    'Last-Modified': stat.mtime.toUTCString(),
  });
  if (request.method === 'HEAD') {
    response.end();
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const stream = fs.createReadStream(filePath);
    stream.on('error', reject);
    response.on('close', resolve);
    stream.pipe(response);
  });
}

function send(response: http.ServerResponse, status: number, message: string): void {
  const body = `${status} ${message}\n`;
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  response.end(response.req.method === 'HEAD' ? undefined : body);
}
