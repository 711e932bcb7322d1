import { Command } from 'commander';
import { dbCommand } from './commands/db.js';
import { demoCommand } from './commands/demo.js';
import { devCommand } from './commands/dev.js';
import { enqueueCommand } from './commands/enqueue.js';
import { searchCommand } from './commands/search.js';
import { siteCommand } from './commands/site.js';
import { statusCommand } from './commands/status.js';
import { workerCommand } from './commands/worker.js';
import { exitCodeFor } from './context.js';

const program = new Command('clerk')
  .description('turns city-council PDFs into searchable, entity-rich meeting archives, durably, on Temporal')
  .showHelpAfterError()
  .exitOverride((error) => {
    // commander's own usage errors (unknown flag, bad choice) mean exit 2, like ours.
    process.exit(error.exitCode === 0 ? 0 : 2);
  });

for (const command of [siteCommand(), enqueueCommand(), statusCommand(), searchCommand(), workerCommand(), dbCommand(), devCommand(), demoCommand()]) {
  program.addCommand(command);
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  console.error(`clerk: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = exitCodeFor(error);
}
