import { Argument, Command } from 'commander';
import { queueStages, siteRunsWaitingOn, type QueueName, type SiteRun } from '../../temporal/control.js';
import { taskQueuesWithPrefix } from '../../workflows/types.js';
import { config, confirm, ExitCode, printJson, withClient, withDb } from '../context.js';
import { cancelSiteRuns } from './cancel.js';

interface PurgeQueueOptions {
  wait: boolean;
  dryRun?: boolean;
  yes?: boolean;
  json?: boolean;
}

export function purgeQueueCommand(): Command {
  return new Command('purge-queue')
    .description(
      'cancel, gracefully (as `clerk cancel`), every site run with work waiting on a task queue, found by the stage the run is in (its ClerkStage search attribute): fetch -> stage fetch, ocr -> stage ocr, extraction -> stage extraction, deploy -> stage deploy, workflows -> every running site run',
    )
    .addArgument(new Argument('<queue>', 'the task queue').choices(Object.keys(queueStages)))
    .option('--no-wait', 'only request the cancellations; do not wait for the runs to close')
    .option('--dry-run', 'print the runs that would be cancelled, and change nothing')
    .option('--yes', 'do not ask for confirmation')
    .option('--json', 'print JSON')
    .action(async (queue: QueueName, options: PurgeQueueOptions) => {
      const queues = taskQueuesWithPrefix(config().temporal.taskQueuePrefix);
      const result = await withClient(async (client) => {
        const runs = await siteRunsWaitingOn(client, queues, queue);
        if (options.dryRun || runs.length === 0) return { runs, cancellations: null };
        if (!options.json) printRuns(queue, runs, false);
        await confirm(`Cancel these ${runs.length} run(s)?`, options);
        const subdomains = runs.map((run) => run.subdomain);
        const cancellations = await withDb((db) => cancelSiteRuns(client, db, subdomains, { wait: options.wait, print: !options.json }));
        return { runs, cancellations };
      });
      if (result.cancellations?.some((c) => c.outcome === 'closed')) process.exitCode = ExitCode.failed;
      if (options.json) return printJson({ queue, stage: queueStages[queue], dryRun: options.dryRun ?? false, runs: result.runs, cancellations: result.cancellations });
      if (result.cancellations === null) printRuns(queue, result.runs, options.dryRun ?? false);
    });
}

function printRuns(queue: QueueName, runs: SiteRun[], dryRun: boolean): void {
  const stage = queueStages[queue];
  const which = stage === null ? 'running site runs' : `running site runs in stage ${stage}`;
  if (runs.length === 0) {
    console.log(`no ${which}; nothing to cancel`);
    return;
  }
  console.log(`${dryRun ? 'would cancel' : 'cancelling'} ${runs.length} ${which}:`);
  for (const run of runs) console.log(`  ${run.subdomain} (${run.stage}, workflow ${run.workflowId}, run ${run.runId})`);
  if (dryRun) console.log('  (dry run: nothing was changed)');
}
