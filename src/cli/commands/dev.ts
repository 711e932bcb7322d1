import { Command } from 'commander';
import { runStack } from '../../dev/stack.js';
import { stackDown, stackUp } from '../../dev/stack-control.js';
import { config, printJson } from '../context.js';
import { devFixturesCommand } from './dev-fixtures.js';

export function devCommand(): Command {
  const dev = new Command('dev').description('the embedded local stack: Postgres, Temporal dev server, sample site and all workers');

  dev
    .command('up')
    .description('start the local stack in the background and wait until it is ready')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const info = await stackUp(config(), (line) => options.json || console.log(line));
      if (options.json) return printJson(info);
      console.log(`local stack ready: Temporal ${info.temporalAddress}, Web UI ${info.webUi}, sample site ${info.sampleSiteUrl}`);
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
    .action(async () => {
      await runStack(config(), (line) => console.log(`[stack ${new Date().toISOString()}] ${line}`));
    });

  dev.addCommand(devFixturesCommand());
  return dev;
}
