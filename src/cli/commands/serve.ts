import { Command, InvalidArgumentError } from 'commander';
import type { SiteSyncOutcome } from '../../deploy/store-mirror.js';
import { ListenError, startServer, type ServerOptions } from '../../serve/index.js';
import { CliError, config, ExitCode } from '../context.js';

/**
 * The read-only web app over the deploy folder: search, meetings, pages, people, feeds and the
 * JSON API. It reads only CLERK_DEPLOY_DIR, so it runs without Postgres or Temporal, and picks up
 * each new deploy or rollback on the next request. With a remote store (CLERK_STORAGE_URL), the
 * deploy folder is first synced from the store's `deploy/` prefix and then every --sync-interval
 * seconds, so deploys made on other hosts are served too.
 */
export function serveCommand(): Command {
  return new Command('serve')
    .description('serve the deployed archives in a browser and as a JSON API (read-only; runs until Ctrl-C)')
    .option('--port <port>', 'port to listen on (0: any free port)', parsePort, 8080)
    .option('--host <host>', 'address to listen on (0.0.0.0: every interface)', '127.0.0.1')
    .option('--sync-interval <seconds>', 'with a remote store: seconds between syncs of the deployed archives from it', parseSyncInterval, 30)
    .action(async (options: { port: number; host: string; syncInterval: number }) => {
      const { deployDir } = config();
      // Loaded here, not at the top: an S3 client is no reason to slow every other command's start.
      const { openDocumentStore } = await import('../../storage/open.js');
      const store = openDocumentStore(config());
      const sync: ServerOptions['sync'] = store.remote
        ? { store, keep: config().deploy.keep, intervalMs: options.syncInterval * 1000, onOutcomes: logSyncOutcomes, onError: (error) => console.error(`clerk serve: syncing from the store failed (retrying in ${options.syncInterval} s): ${(error as Error).message}`) }
        : undefined;
      const server = await startServer({ deployDir, host: options.host, port: options.port, sync }).catch((error: unknown) => {
        throw error instanceof ListenError ? new CliError(error.message, ExitCode.failed) : error;
      });
      const from = sync ? `synced from ${store.describe('deploy')} every ${options.syncInterval} s into ${deployDir}` : `archives in ${deployDir}`;
      console.log(`clerk serve: ${server.url} (${from}); Ctrl-C stops it`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await server.close();
    });
}

/** Changes and failures, one line each; sites already up to date say nothing. */
function logSyncOutcomes(outcomes: SiteSyncOutcome[]): void {
  for (const outcome of outcomes) {
    if (outcome.status === 'downloaded' || outcome.status === 'switched') {
      console.log(`clerk serve: ${outcome.site} now serves version ${outcome.version}${outcome.status === 'downloaded' ? ' (downloaded from the store)' : ''}`);
    } else if (outcome.status === 'failed') {
      console.error(`clerk serve: sync: ${outcome.error}`);
    }
  }
}

function parsePort(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65_535) throw new InvalidArgumentError('a port is a whole number from 0 to 65535');
  return Number(value);
}

function parseSyncInterval(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 86_400) throw new InvalidArgumentError('a whole number of seconds from 1 to 86400');
  return Number(value);
}
