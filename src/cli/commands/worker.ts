import { Command, InvalidArgumentError, Option } from 'commander';
import { makeTelemetryFilterString, NativeConnection, Runtime } from '@temporalio/worker';
import { workerTypes, type WorkerType } from '../../activities/index.js';
import { effectiveDatabaseUrl } from '../../config/index.js';
import { connectDatabase } from '../../db/connect.js';
import { freeLoopbackPort, startMetricsServer, type MetricsServer } from '../../metrics/server.js';
import { formatDuration, parseDuration } from '../../ops/health.js';
import { openDocumentStore } from '../../storage/open.js';
import { createWorkers, DEFAULT_DRAIN_TIMEOUT_MS, runWorkers, type RunningWorkers } from '../../workers/create.js';
import { BURST_IDLE_MS, TaskBudget } from '../../workers/interceptors.js';
import { defaultLogFormat, logFormats, WorkerLogger, type LogFormat } from '../../workers/logging.js';
import { CliError, config, ExitCode } from '../context.js';

/** The systemd units stop a worker with TimeoutStopSec=60s: the drain must end before that kill. */
const MAX_DRAIN_TIMEOUT_MS = 55_000;

interface WorkerFlags {
  concurrency?: number;
  drainTimeout: number;
  maxTasks?: number;
  metricsPort?: number;
  metricsHost: string;
  logFormat: LogFormat;
}

export function workerCommand(): Command {
  return new Command('worker')
    .description('run a worker for one task queue, or every queue with `all` (development); SIGINT/SIGTERM drain in-flight work')
    .argument('<type>', `one of ${[...workerTypes, 'all'].join(', ')}`, parseWorkerType)
    .option('-c, --concurrency <n>', 'activities at once (OCR defaults to the number of cores)', parsePositiveInt)
    .addOption(
      new Option(
        '--drain-timeout <duration>',
        `on SIGINT/SIGTERM (or the end of --max-tasks), how long in-flight activities may run on before they are cancelled; at most ${formatDuration(MAX_DRAIN_TIMEOUT_MS)}, since the systemd units kill a worker 60 s after SIGTERM (TimeoutStopSec=60s)`,
      )
        .argParser(parseDrainTimeout)
        .default(DEFAULT_DRAIN_TIMEOUT_MS, formatDuration(DEFAULT_DRAIN_TIMEOUT_MS)),
    )
    .option(
      '--max-tasks <n>',
      `burst mode: stop taking tasks after N activity attempts have ended (succeeded or failed), or after ${BURST_IDLE_MS / 1000} s in which no activity ran (the queue is empty), then drain and exit 0`,
      parsePositiveInt,
    )
    .option('--metrics-port <port>', 'serve Prometheus metrics (clerk_* and the Temporal SDK temporal_*) at http://HOST:PORT/metrics; 0 picks a free port; off by default', parsePort)
    .option('--metrics-host <host>', 'address the metrics endpoint listens on', '0.0.0.0')
    .addOption(
      new Option('--log-format <format>', 'json: one JSON object a line; pretty: one readable line')
        .choices(logFormats)
        .default(defaultLogFormat(), 'pretty on a terminal, json otherwise'),
    )
    .action(async (type: WorkerType | 'all', flags: WorkerFlags) => {
      const cfg = config();
      const logger = new WorkerLogger(flags.logFormat);
      // Process-global, and only possible before the first connection: the SDK's own lines, the
      // native core's and the activities' all go through clerk's logger, and the SDK exports its
      // metrics on a private loopback port that /metrics reads and appends.
      const sdkMetricsPort = flags.metricsPort === undefined ? undefined : await freeLoopbackPort();
      Runtime.install({
        logger,
        telemetryOptions: {
          logging: { filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }), forward: {} },
          ...(sdkMetricsPort === undefined ? {} : { metrics: { prometheus: { bindAddress: `127.0.0.1:${sdkMetricsPort}` } } }),
        },
      });
      const db = connectDatabase(effectiveDatabaseUrl(cfg));
      let connection: NativeConnection;
      try {
        connection = await NativeConnection.connect({ address: cfg.temporal.address });
      } catch (error) {
        await db.destroy();
        throw new CliError(`cannot reach Temporal at ${cfg.temporal.address}: ${(error as Error).message}`, ExitCode.unavailable);
      }
      let metricsServer: MetricsServer | undefined;
      let budget: TaskBudget | undefined;
      try {
        if (flags.metricsPort !== undefined) {
          const served = await startMetricsServer({ port: flags.metricsPort, host: flags.metricsHost, sdkMetricsUrl: `http://127.0.0.1:${sdkMetricsPort}/metrics` }).catch(
            (error: Error) => Promise.reject(new CliError(`cannot serve metrics on ${flags.metricsHost}:${flags.metricsPort}: ${error.message}`, ExitCode.usage)),
          );
          metricsServer = served;
          logger.info(`worker ${type} serving metrics at ${served.url}`, { metricsUrl: served.url });
        }
        let running: RunningWorkers | undefined;
        if (flags.maxTasks !== undefined) {
          budget = new TaskBudget(flags.maxTasks, (end) => {
            logger.info(
              end.reason === 'max-tasks'
                ? `worker ${type}: ${end.tasks} activity tasks done (--max-tasks ${flags.maxTasks}); draining`
                : `worker ${type}: no activity for ${end.idleMs / 1000} s, the queue is empty; draining after ${end.tasks} activity tasks`,
              { reason: end.reason, tasks: end.tasks },
            );
            for (const worker of running?.workers ?? []) if (worker.getState() === 'RUNNING') worker.shutdown();
          });
        }
        running = await createWorkers({
          config: cfg,
          connection,
          deps: { db, store: openDocumentStore(cfg), config: cfg },
          types: type === 'all' ? workerTypes : [type],
          drainTimeoutMs: flags.drainTimeout,
          ...(budget ? { activityInterceptors: [budget.interceptor] } : {}),
          ...(flags.concurrency ? { concurrency: flags.concurrency } : {}),
        });
        budget?.start();
        logger.info(`worker ${type} polling ${running.workers.map((w) => w.options.taskQueue).join(', ')}`);
        await runWorkers(running);
        logger.info(`worker ${type} drained and stopped`);
      } finally {
        budget?.stop();
        await metricsServer?.close();
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

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port from 0 (any free port) to 65535');
  return n;
}

function parseDrainTimeout(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw new InvalidArgumentError('expected a duration such as 30s or 45s');
  if (ms > MAX_DRAIN_TIMEOUT_MS) {
    throw new InvalidArgumentError(`at most ${formatDuration(MAX_DRAIN_TIMEOUT_MS)}: the systemd units kill a worker 60s after SIGTERM (TimeoutStopSec=60s), so a longer drain would be cut short`);
  }
  return ms;
}
