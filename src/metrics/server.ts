import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectProcessMetrics, registry } from './index.js';

export interface MetricsServer {
  /** Where Prometheus scrapes this process: `http://<host>:<port>/metrics`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Serves `/metrics` for one worker process: clerk's own metrics (prom-client) followed by the
 * Temporal SDK's runtime metrics, which the SDK's native core exports on a private loopback port
 * (`sdkMetricsUrl`) and which are fetched and appended on each scrape. One scrape target per
 * process, so a scrape config needs one port; the two sets never share a name (`clerk_`, Node's
 * `process_`/`nodejs_`, and the SDK's `temporal_`), so the concatenation is valid exposition text.
 */
export async function startMetricsServer(options: { port: number; host: string; sdkMetricsUrl?: string }): Promise<MetricsServer> {
  collectProcessMetrics();
  const server = http.createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (request.method !== 'GET' || path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are at /metrics\n');
      return;
    }
    exposition(options.sdkMetricsUrl).then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${(error as Error).message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  return {
    url: `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}/metrics`,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function exposition(sdkMetricsUrl: string | undefined): Promise<string> {
  const own = await registry.metrics();
  if (!sdkMetricsUrl) return own;
  try {
    const response = await fetch(sdkMetricsUrl, { signal: AbortSignal.timeout(5_000) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return `${own}\n${await response.text()}`;
  } catch (error) {
    // clerk's own metrics are still worth a scrape when the SDK's exporter does not answer.
    return `${own}\n# Temporal SDK metrics unavailable from ${sdkMetricsUrl}: ${(error as Error).message}\n`;
  }
}

/**
 * A free loopback port for the SDK's exporter, which must be given a fixed address: the kernel
 * picks one, and it is released just before the SDK binds it.
 */
export async function freeLoopbackPort(): Promise<number> {
  const probe = http.createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
