import { Command, CommanderError } from 'commander';
import { cancelCommand } from './commands/cancel.js';
import { dbCommand } from './commands/db.js';
import { deployCommand } from './commands/deploy.js';
import { demoCommand } from './commands/demo.js';
import { devCommand } from './commands/dev.js';
import { enqueueCommand } from './commands/enqueue.js';
import { extractCommand } from './commands/extract.js';
import { failuresCommand } from './commands/failures.js';
import { healthCommand } from './commands/health.js';
import { purgeCommand } from './commands/purge.js';
import { purgeQueueCommand } from './commands/purge-queue.js';
import { retryCommand } from './commands/retry.js';
import { scheduleCommand } from './commands/schedule.js';
import { searchCommand } from './commands/search.js';
import { serveCommand } from './commands/serve.js';
import { siteCommand } from './commands/site.js';
import { statusCommand } from './commands/status.js';
import { workerCommand } from './commands/worker.js';
import { workersCommand } from './commands/workers.js';
import { ExitCode } from './exit-code.js';

const program = new Command('clerk').description('turns city-council PDFs into searchable, entity-rich meeting archives, durably, on Temporal');
for (const command of [siteCommand(), enqueueCommand(), statusCommand(), searchCommand(), extractCommand(), workerCommand(), dbCommand(), devCommand(), demoCommand()]) {
  program.addCommand(command);
}
program.addCommand(deployCommand());
program.addCommand(serveCommand());
program.addCommand(failuresCommand());
program.addCommand(retryCommand());
program.addCommand(healthCommand());
program.addCommand(workersCommand());
program.addCommand(scheduleCommand());
program.addCommand(cancelCommand());
program.addCommand(purgeCommand());
program.addCommand(purgeQueueCommand());
throwInsteadOfExiting(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // commander already printed its message; help and --version exit 0, usage mistakes exit 2.
    process.exitCode = error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  } else {
    // Imported only on failure: context.ts loads the Temporal client, Postgres and every fetcher,
    // which `clerk --help` should not wait for.
    const { exitCodeFor } = await import('./context.js');
    console.error(`clerk: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = exitCodeFor(error);
  }
}

function throwInsteadOfExiting(command: Command): void {
  command.exitOverride().showHelpAfterError();
  for (const sub of command.commands) throwInsteadOfExiting(sub);
}
