import { Command } from 'commander';
import { formatDuration } from '../../ops/health.js';
import {
  createSchedule,
  deleteSchedule,
  describeSchedule,
  listSchedules,
  pauseSchedule,
  DEFAULT_MAX_SITES_IN_FLIGHT,
  ScheduleRequestError,
  triggerSchedule,
  unpauseSchedule,
  UnknownScheduleError,
  type ScheduleView,
} from '../../temporal/schedules.js';
import { CliError, config, confirm, ExitCode, printJson, withClient } from '../context.js';
import { durationFlag, positiveIntegerFlag } from '../flags.js';

/** `clerk schedule ...`: Temporal schedules that start fleetRefreshWorkflow (re-enqueue every site). */
export function scheduleCommand(): Command {
  const schedule = new Command('schedule').description('schedules that re-enqueue every site, oldest last successful run first, spread over a window (Temporal Schedules)');

  schedule
    .command('create')
    .description('create a schedule that re-enqueues every site (cron in UTC; overlap policy skip)')
    .argument('<name>', 'like nightly-refresh (the schedule id is clerk/<name>)')
    .requiredOption('--cron <expression>', 'when it fires, a cron expression in UTC, like "0 2 * * *"')
    .option('--spread <duration>', 'start the sites evenly over this long, like 4h, 30m or 0s', durationFlag, 4 * 3_600_000)
    .option('--max-in-flight <n>', 'at most this many of its sites in a run at once', positiveIntegerFlag, DEFAULT_MAX_SITES_IN_FLIGHT)
    .option('--note <text>', 'a note shown by describe')
    .option('--paused', 'create it paused')
    .option('--json', 'print JSON')
    .action(async (name: string, options: { cron: string; spread: number; maxInFlight: number; note?: string; paused?: boolean; json?: boolean }) => {
      const settings = { name, cron: options.cron, spreadMs: options.spread, maxSitesInFlight: options.maxInFlight, note: options.note, paused: options.paused };
      const view = await run(() => withClient((client) => createSchedule(client, config(), settings)));
      if (options.json) return printJson(view);
      console.log(`created schedule ${name} (${view.scheduleId}): ${view.cron}, spread ${formatDuration(view.spreadMs ?? 0)}${view.paused ? ', paused' : ''}`);
      if (view.nextRuns[0]) console.log(`next run: ${view.nextRuns[0]}`);
    });

  schedule
    .command('list')
    .description("clerk's schedules: cron, spread, paused, next run")
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const views = await run(() => withClient((client) => listSchedules(client)));
      if (options.json) return printJson({ schedules: views });
      if (views.length === 0) return console.log('no schedules (create one with `clerk schedule create <name> --cron "0 2 * * *"`)');
      for (const v of views) {
        console.log(`${v.name.padEnd(20)} ${(v.cron ?? '?').padEnd(14)} spread ${spread(v).padEnd(6)} ${v.paused ? 'PAUSED' : 'active'}  next ${v.paused ? '-' : (v.nextRuns[0] ?? '-')}${v.note ? `  (${v.note})` : ''}`);
      }
    });

  schedule
    .command('describe')
    .description('one schedule: spec, paused and note, next runs, recent and running refreshes')
    .argument('<name>')
    .option('--json', 'print JSON')
    .action(async (name: string, options: { json?: boolean }) => {
      const v = await run(() => withClient((client) => describeSchedule(client, name)));
      if (options.json) return printJson(v);
      console.log(`${v.name} (${v.scheduleId})`);
      console.log(`  cron:      ${v.cron ?? '?'} (UTC), spread ${spread(v)}, overlap ${v.overlap}, catch-up window ${formatDuration(v.catchupWindowMs ?? 0)}`);
      console.log(`  sites in a run at once: ${v.maxSitesInFlight ?? 'no bound (created before refreshes were bounded)'}`);
      console.log(`  state:     ${v.paused ? 'PAUSED' : 'active'}${v.note ? ` (${v.note})` : ''}; ${v.actionsTaken} runs taken, ${v.skippedOverlap} skipped (overlap)`);
      console.log(`  next runs: ${v.nextRuns.slice(0, 3).join(', ') || '-'}`);
      for (const a of v.recentActions.slice(-5)) console.log(`  ran:       ${a.takenAt}  ${a.workflowId}`);
      for (const w of v.runningWorkflows ?? []) console.log(`  running:   ${w.workflowId}`);
    });

  for (const [verb, act] of [
    ['pause', pauseSchedule],
    ['unpause', unpauseSchedule],
  ] as const) {
    schedule
      .command(verb)
      .description(verb === 'pause' ? 'stop the schedule firing (refreshes already running go on)' : 'let a paused schedule fire again')
      .argument('<name>')
      .option('--note <text>', 'why (shown by describe)')
      .action(async (name: string, options: { note?: string }) => {
        await run(() => withClient((client) => act(client, name, options.note)));
        console.log(`schedule ${name} ${verb}d`);
      });
  }

  schedule
    .command('trigger')
    .description('run the refresh now (skipped if the last one is still running)')
    .argument('<name>')
    .action(async (name: string) => {
      await run(() => withClient((client) => triggerSchedule(client, name)));
      console.log(`schedule ${name} triggered; \`clerk schedule describe ${name}\` shows the refresh`);
    });

  schedule
    .command('delete')
    .description('delete a schedule (asks first; refreshes already running go on)')
    .argument('<name>')
    .option('--dry-run', 'print what would be deleted and change nothing')
    .option('--yes', 'do not ask')
    .action(async (name: string, options: { dryRun?: boolean; yes?: boolean }) => {
      await run(() =>
        withClient(async (client) => {
          const v: ScheduleView = await describeSchedule(client, name);
          const what = `schedule ${name} (${v.scheduleId}, ${v.cron ?? '?'}${v.paused ? ', paused' : ''})`;
          if (options.dryRun) {
            console.log(`would delete ${what}; nothing was changed`);
            return;
          }
          await confirm(`Delete ${what}?`, options);
          await deleteSchedule(client, name);
          console.log(`deleted ${what}`);
        }),
      );
    });

  return schedule;
}

/** Maps an unknown schedule and a bad request to exit code 2. */
async function run<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof UnknownScheduleError || error instanceof ScheduleRequestError) throw new CliError(error.message, ExitCode.usage);
    throw error;
  }
}

function spread(v: ScheduleView): string {
  return v.spreadMs === null ? '?' : formatDuration(v.spreadMs);
}

