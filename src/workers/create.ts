import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker, type ActivityInterceptorsFactory, type WorkerOptions } from '@temporalio/worker';
import { activitiesForWorker, type ActivityDeps, type WorkerResources, type WorkerType } from '../activities/index.js';
import { ExtractionThreads } from '../extract/threads.js';
import type { ClerkConfig } from '../config/index.js';
import { OcrEnginePool } from '../ocr/pool.js';
import { taskQueuesWithPrefix } from '../workflows/types.js';
import { siteLogAttributes } from './interceptors.js';

/** What `clerk worker --drain-timeout` defaults to. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/** Defined by bin/build.mjs in the compiled CLI only: its workflow bundle, built from the same sources. */
declare const CLERK_PREBUILT_WORKFLOW_BUNDLE: string | undefined;
const prebuiltWorkflowBundle =
  typeof CLERK_PREBUILT_WORKFLOW_BUNDLE === 'string' ? fileURLToPath(new URL(`../../${CLERK_PREBUILT_WORKFLOW_BUNDLE}`, import.meta.url)) : undefined;

export interface WorkerSetup {
  config: ClerkConfig;
  deps: ActivityDeps;
  connection: NativeConnection;
  types: readonly WorkerType[];
  /** Activities run at once per worker; OCR defaults to the number of cores. */
  concurrency?: number;
  /** How long in-flight activities may run on when the workers are asked to stop (default 30 s). */
  drainTimeoutMs?: number;
  /** Activity interceptors besides the one that puts the site on log lines (e.g. `--max-tasks` counting). */
  activityInterceptors?: ActivityInterceptorsFactory[];
  /** A prebuilt workflow bundle (tests build one and share it); otherwise see workflowSource(). */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

export interface RunningWorkers {
  workers: Worker[];
  resources: WorkerResources;
}

/** One Temporal worker per task queue, all sharing the process's connection and dependencies. */
export async function createWorkers(setup: WorkerSetup): Promise<RunningWorkers> {
  const queues = taskQueuesWithPrefix(setup.config.temporal.taskQueuePrefix);
  const ocrConcurrency = setup.concurrency ?? setup.config.ocr.concurrency;
  const resources: WorkerResources = {
    ocrEngines: new OcrEnginePool(setup.config.ocr.engine, ocrConcurrency),
    extractionThreads: new ExtractionThreads(setup.config.extractionThreads),
    temporalClient: new Client({ connection: setup.connection, namespace: setup.config.temporal.namespace }),
  };
  const workers: Worker[] = [];
  for (const type of setup.types) {
    workers.push(
      await Worker.create({
        connection: setup.connection,
        namespace: setup.config.temporal.namespace,
        taskQueue: queues[type],
        // CLERK_HOST names the host in the Web UI's pollers as it does in job_tracking.host.
        identity: `${process.pid}@${setup.config.host}`,
        activities: activitiesForWorker(type, { ...setup.deps, ...resources }),
        ...(type === 'workflows' ? workflowSource(setup) : {}),
        // OCR takes a few more activities than engines: the extra ones render their page while every
        // engine is busy, so tesseract never waits for pdftoppm.
        maxConcurrentActivityTaskExecutions: type === 'ocr' ? ocrConcurrency + Math.ceil(ocrConcurrency / 2) : (setup.concurrency ?? 20),
        // In-flight activities get this long to finish when the worker is asked to stop.
        shutdownGraceTime: setup.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS,
        interceptors: { activity: [siteLogAttributes, ...(setup.activityInterceptors ?? [])] },
      }),
    );
  }
  return { workers, resources };
}

/**
 * The bundle given (tests share one), else the compiled CLI's prebuilt bundle (bin/clerk.mjs runs the
 * compiled CLI only while its build matches src/, so the bundle is as fresh as the CLI), else
 * workflowsPath, bundled at start as when the TypeScript runs directly.
 */
function workflowSource(setup: WorkerSetup): Pick<WorkerOptions, 'workflowsPath' | 'workflowBundle'> {
  if (setup.workflowBundle) return { workflowBundle: setup.workflowBundle };
  if (prebuiltWorkflowBundle && fs.existsSync(prebuiltWorkflowBundle)) return { workflowBundle: { codePath: prebuiltWorkflowBundle } };
  return { workflowsPath };
}

/** Runs the workers until one fails or a shutdown signal (SIGINT, SIGTERM) drains them all. */
export async function runWorkers(running: RunningWorkers): Promise<void> {
  const stopAll = () => {
    for (const worker of running.workers) if (worker.getState() === 'RUNNING') worker.shutdown();
  };
  try {
    // One worker failing stops its siblings, so the process exits instead of half-running.
    await Promise.all(running.workers.map((worker) => worker.run().catch((error: unknown) => (stopAll(), Promise.reject(error)))));
  } finally {
    await running.resources.ocrEngines.close();
    await running.resources.extractionThreads.close();
  }
}
