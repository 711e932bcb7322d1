import { Connection } from '@temporalio/client';
import { Command, InvalidArgumentError, Option } from 'commander';
import pg from 'pg';
import { effectiveDatabaseUrl, type ClerkConfig } from '../../config/index.js';
import { connectDatabase } from '../../db/connect.js';
import { checkHealth, healthExitCode, parseDuration, type HealthStatus, type TaskQueueDescriber } from '../../ops/health.js';
import { openDocumentStore } from '../../storage/open.js';
import { S3DocumentStore } from '../../storage/s3-document-store.js';
import { taskQueuesWithPrefix } from '../../workflows/types.js';
import { config, printJson } from '../context.js';

interface HealthOptions {
  json?: boolean;
  stuckAfter: number;
  minFreeGb: number;
  timeout: number;
}

// temporal.api.enums.v1.TaskQueueType's values; @temporalio/proto is not a dependency of clerk's own,
// so its runtime enum is not imported for two numbers the API fixes.
const TASK_QUEUE_TYPE_WORKFLOW = 1;
const TASK_QUEUE_TYPE_ACTIVITY = 2;

const marks: Record<HealthStatus, string> = { ok: '✓', degraded: '!', down: '✗' };

/**
 * Exit codes are this verb's own (issue 18), for monitors: 0 healthy, 1 degraded, 2 down. A bad
 * flag still exits 2 through commander, like every other usage error.
 */
export function healthCommand(): Command {
  return new Command('health')
    .description('check Temporal, Postgres and its migrations, the workers on every task queue, stuck sites and the storage and deploy folders; exit 0 healthy, 1 degraded, 2 down')
    .option('--json', 'print JSON: {status, checks: [{name, status, message, details?}], checkedAt}')
    .addOption(
      new Option('--stuck-after <duration>', 'a site in a working stage without progress for this long is stuck (90s, 30m, 6h, 2d)')
        .argParser(durationFlag)
        .default(6 * 3_600_000, '6h'),
    )
    .addOption(new Option('--min-free-gb <gb>', 'free space below this in the storage or deploy folder is degraded').argParser(positiveNumberFlag).default(1))
    .addOption(
      new Option('--timeout <duration>', 'how long to wait for Temporal or Postgres to answer before calling it down').argParser(durationFlag).default(5_000, '5s'),
    )
    .action(async (options: HealthOptions) => {
      const cfg = config();
      const databaseUrl = effectiveDatabaseUrl(cfg);
      // With S3 storage the bucket is checked by writing a probe object; the local folder this host
      // still fills is the cache.
      const store = openDocumentStore(cfg);
      const remote = store instanceof S3DocumentStore ? store : undefined;
      const report = await checkHealth({
        temporal: { where: `${cfg.temporal.address} (namespace ${cfg.temporal.namespace})`, connect: () => connectTemporal(cfg, options.timeout) },
        postgres: {
          where: redact(databaseUrl),
          connect: async () => {
            await probePostgres(databaseUrl, options.timeout);
            return connectDatabase(databaseUrl, { maxConnections: 2 });
          },
        },
        queues: taskQueuesWithPrefix(cfg.temporal.taskQueuePrefix),
        folders: [
          remote ? { name: 'cache', path: cfg.storage.cacheDir } : { name: 'storage', path: cfg.storageDir },
          { name: 'deploy', path: cfg.deployDir },
        ],
        stores: remote ? [{ name: 'storage', where: remote.location(), probe: () => remote.probe(options.timeout) }] : [],
        stuckAfterMs: options.stuckAfter,
        minFreeBytes: options.minFreeGb * 1024 ** 3,
      });
      if (options.json) {
        printJson(report);
      } else {
        const width = Math.max(...report.checks.map((c) => c.name.length));
        for (const check of report.checks) console.log(`${marks[check.status]} ${check.name.padEnd(width)}  ${check.message}`);
        const notOk = report.checks.filter((c) => c.status !== 'ok').length;
        console.log(report.status === 'ok' ? 'clerk is healthy' : `clerk is ${report.status} (${notOk} of ${report.checks.length} checks not ok)`);
      }
      process.exitCode = healthExitCode(report.status);
    });
}

/** Connects with a short deadline and checks the namespace, so a wrong TEMPORAL_NAMESPACE is down too. */
async function connectTemporal(cfg: ClerkConfig, timeoutMs: number): Promise<TaskQueueDescriber> {
  const connection = await Connection.connect({ address: cfg.temporal.address, connectTimeout: timeoutMs });
  const namespace = cfg.temporal.namespace;
  const withDeadline = <T>(fn: () => Promise<T>) => connection.withDeadline(Date.now() + timeoutMs, fn);
  try {
    await withDeadline(() => connection.workflowService.describeNamespace({ namespace }));
  } catch (error) {
    await connection.close().catch(() => {});
    throw new Error(`namespace ${namespace}: ${(error as Error).message}`);
  }
  return {
    async pollers(taskQueue, kind) {
      const response = await withDeadline(() =>
        connection.workflowService.describeTaskQueue({
          namespace,
          taskQueue: { name: taskQueue },
          taskQueueType: kind === 'workflow' ? TASK_QUEUE_TYPE_WORKFLOW : TASK_QUEUE_TYPE_ACTIVITY,
        }),
      );
      return (response.pollers ?? []).map((p) => ({
        identity: p.identity ?? '',
        lastAccessTime: p.lastAccessTime?.seconds != null ? new Date(Number(p.lastAccessTime.seconds) * 1000).toISOString() : null,
      }));
    },
    close: () => connection.close(),
  };
}

/** One plain connection with a deadline: the pool's own timeout is for workers and is much longer. */
async function probePostgres(url: string, timeoutMs: number): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('select 1');
  } finally {
    await client.end().catch(() => {});
  }
}

function durationFlag(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw new InvalidArgumentError('expected a duration such as 90s, 30m, 6h or 2d');
  return ms;
}

function positiveNumberFlag(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number of GB, 0 or more');
  return n;
}

function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}
