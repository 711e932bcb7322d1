import { Command, InvalidArgumentError } from 'commander';
import { NativeConnection } from '@temporalio/worker';
import { workerTypes, type WorkerType } from '../../activities/index.js';
import { effectiveDatabaseUrl } from '../../config/index.js';
import { connectDatabase } from '../../db/connect.js';
import { LocalFolderStore } from '../../storage/local-folder-store.js';
import { createWorkers, runWorkers } from '../../workers/create.js';
import { CliError, config, ExitCode } from '../context.js';

export function workerCommand(): Command {
  return new Command('worker')
    .description('run a worker for one task queue, or every queue with `all` (development); SIGINT/SIGTERM drain in-flight work')
    .argument('<type>', `one of ${[...workerTypes, 'all'].join(', ')}`, parseWorkerType)
    .option('-c, --concurrency <n>', 'activities at once (OCR defaults to the number of cores)', parsePositiveInt)
    .action(async (type: WorkerType | 'all', options: { concurrency?: number }) => {
      const cfg = config();
      const db = connectDatabase(effectiveDatabaseUrl(cfg));
      let connection: NativeConnection;
      try {
        connection = await NativeConnection.connect({ address: cfg.temporal.address });
      } catch (error) {
        await db.destroy();
        throw new CliError(`cannot reach Temporal at ${cfg.temporal.address}: ${(error as Error).message}`, ExitCode.unavailable);
      }
      try {
        const running = await createWorkers({
          config: cfg,
          connection,
          deps: { db, store: new LocalFolderStore(cfg.storageDir), config: cfg },
          types: type === 'all' ? workerTypes : [type],
          ...(options.concurrency ? { concurrency: options.concurrency } : {}),
        });
        console.log(`worker ${type} polling ${running.workers.map((w) => w.options.taskQueue).join(', ')}`);
        await runWorkers(running);
        console.log(`worker ${type} drained and stopped`);
      } finally {
        await connection.close();
        await db.destroy();
      }
    });
}

function parseWorkerType(value: string): WorkerType | 'all' {
  if (value === 'all' || (workerTypes as readonly string[]).includes(value)) return value as WorkerType | 'all';
  throw new InvalidArgumentError(`expected one of ${[...workerTypes, 'all'].join(', ')}`);
}

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of 1 or more');
  return n;
}
