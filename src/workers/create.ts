import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { activitiesForWorker, type ActivityDeps, type WorkerResources, type WorkerType } from '../activities/index.js';
import { ExtractionThreads } from '../extract/threads.js';
import type { ClerkConfig } from '../config/index.js';
import { OcrEnginePool } from '../ocr/pool.js';
import { taskQueuesWithPrefix } from '../workflows/types.js';

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export interface WorkerSetup {
  config: ClerkConfig;
  deps: ActivityDeps;
  connection: NativeConnection;
  types: readonly WorkerType[];
  /** Activities run at once per worker; OCR defaults to the number of cores. */
  concurrency?: number;
  /** A prebuilt workflow bundle (tests build one and share it); otherwise workflowsPath is bundled. */
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
  };
  const workers: Worker[] = [];
  for (const type of setup.types) {
    workers.push(
      await Worker.create({
        connection: setup.connection,
        namespace: setup.config.temporal.namespace,
        taskQueue: queues[type],
        activities: activitiesForWorker(type, { ...setup.deps, ...resources }),
        ...(type === 'workflows' ? workflowSource(setup) : {}),
        // OCR takes a few more activities than engines: the extra ones render their page while every
        // engine is busy, so tesseract never waits for pdftoppm.
        maxConcurrentActivityTaskExecutions: type === 'ocr' ? ocrConcurrency + Math.ceil(ocrConcurrency / 2) : (setup.concurrency ?? 20),
        // In-flight activities get this long to finish when the worker is asked to stop.
        shutdownGraceTime: '30 seconds',
      }),
    );
  }
  return { workers, resources };
}

function workflowSource(setup: WorkerSetup): Pick<WorkerOptions, 'workflowsPath' | 'workflowBundle'> {
  return setup.workflowBundle ? { workflowBundle: setup.workflowBundle } : { workflowsPath };
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
