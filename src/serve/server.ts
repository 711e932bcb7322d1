import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { startArchiveSync, type ArchiveSyncLoopOptions } from '../deploy/store-mirror.js';
import { createServeApp } from './app.js';

export interface RunningServer {
  /** Base URL without a trailing slash, e.g. "http://127.0.0.1:8080". */
  url: string;
  close(): Promise<void>;
}

/** The port is taken (or the address is not this machine's): the CLI says so and exits 1. */
export class ListenError extends Error {
  override name = 'ListenError';
}

export interface ServerOptions {
  deployDir: string;
  host: string;
  port: number;
  /**
   * With a remote store: sync the deploy folder from it before listening and then in the
   * background, so versions deployed on other hosts are served (src/deploy/store-mirror.ts).
   */
  sync?: Omit<ArchiveSyncLoopOptions, 'deployDir'>;
}

/**
 * Starts `clerk serve`'s app on host:port (port 0: any free port) and resolves once it listens
 * (after a first sync from the store, when given one).
 * close() stops the sync loop, stops accepting, ends idle and open connections, then closes the archives.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const sync = options.sync ? await startArchiveSync({ ...options.sync, deployDir: options.deployDir }) : undefined;
  const app = createServeApp({ deployDir: options.deployDir });
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    app.close();
    await sync?.stop();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new ListenError(`port ${options.port} on ${options.host} is taken: stop what uses it, or pick another with --port`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new ListenError(`cannot listen on ${options.host}: not an address of this machine`);
    if (code === 'EACCES') throw new ListenError(`not allowed to listen on port ${options.port} (ports under 1024 need privileges)`);
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}`,
    close() {
      closing ??= Promise.all([
        sync?.stop(),
        new Promise<void>((resolve, reject) => {
          server.close((error) => {
            app.close();
            if (error) reject(error);
            else resolve();
          });
          server.closeAllConnections();
        }),
      ]).then(() => undefined);
      return closing;
    },
  };
}
