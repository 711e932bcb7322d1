import { Command, InvalidArgumentError } from 'commander';
import { ListenError, startServer } from '../../serve/index.js';
import { CliError, config, ExitCode } from '../context.js';

/**
 * The read-only web app over the deploy folder: search, meetings, pages, people, feeds and the
 * JSON API. It reads only CLERK_DEPLOY_DIR, so it runs without Postgres or Temporal, and picks up
 * each new deploy or rollback on the next request.
 */
export function serveCommand(): Command {
  return new Command('serve')
    .description('serve the deployed archives in a browser and as a JSON API (read-only; runs until Ctrl-C)')
    .option('--port <port>', 'port to listen on (0: any free port)', parsePort, 8080)
    .option('--host <host>', 'address to listen on (0.0.0.0: every interface)', '127.0.0.1')
    .action(async (options: { port: number; host: string }) => {
      const deployDir = config().deployDir;
      const server = await startServer({ deployDir, host: options.host, port: options.port }).catch((error: unknown) => {
        throw error instanceof ListenError ? new CliError(error.message, ExitCode.failed) : error;
      });
      console.log(`clerk serve: ${server.url} (archives in ${deployDir}); Ctrl-C stops it`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await server.close();
    });
}

function parsePort(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65_535) throw new InvalidArgumentError('a port is a whole number from 0 to 65535');
  return Number(value);
}
