import { Command, Option } from 'commander';
import { runStack, type StackServer } from '../../dev/stack.js';
import { stackDown, stackUp } from '../../dev/stack-control.js';
import { findOrBuildTemporalServer } from '../../dev/temporal-cluster.js';
import { config, printJson } from '../context.js';
import { devFixturesCommand } from './dev-fixtures.js';

function serverOption(): Option {
  return new Option('--server <kind>', 'dev: the Temporal CLI dev server (SQLite, Web UI); cluster: the Temporal server binary with Postgres persistence')
    .choices(['dev', 'cluster'])
    .default('dev');
}

export function devCommand(): Command {
  const dev = new Command('dev').description('the embedded local stack: Postgres, Temporal dev server, sample site and all workers');

  dev
    .command('up')
    .description('start the local stack in the background and wait until it is ready')
    .option('--json', 'print JSON')
    .addOption(serverOption())
    .action(async (options: { json?: boolean; server: StackServer }) => {
      const info = await stackUp(config(), (line) => options.json || console.log(line), { server: options.server });
      if (options.json) return printJson(info);
      const webUi = info.webUi ? `, Web UI ${info.webUi}` : '';
      console.log(`local stack ready: Temporal ${info.temporalAddress} (${info.server})${webUi}, sample site ${info.sampleSiteUrl}`);
    });

  dev
    .command('down')
    .description('drain the workers and stop the local stack')
    .action(async () => {
      console.log((await stackDown(config())) ? 'local stack stopped' : 'local stack was not running');
    });

  dev
    .command('stack')
    .description('run the local stack in the foreground (what `dev up` starts)')
    .addOption(serverOption())
    .action(async (options: { server: StackServer }) => {
      await runStack(config(), (line) => console.log(`[stack ${new Date().toISOString()}] ${line}`), { server: options.server });
    });

  dev
    .command('build-server')
    .description('build the Temporal server and its SQL tool into the per-user cache (once per machine; `dev up --server cluster` needs them)')
    .action(async () => {
      const binaries = await findOrBuildTemporalServer(config(), (line) => console.log(line));
      console.log(`Temporal server at ${binaries.server}, SQL tool at ${binaries.sqlTool}`);
    });

  dev
    .command('build-minio')
    .description('build the MinIO server (an S3-compatible store) into the per-user cache (once per machine; the S3 and multi-host tests need it)')
    .action(async () => {
      const { findOrBuildMinio } = await import('../../dev/minio.js');
      console.log(`MinIO at ${await findOrBuildMinio(config())}`);
    });

  dev.addCommand(devFixturesCommand());
  return dev;
}
