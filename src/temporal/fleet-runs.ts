import type { Client } from '@temporalio/client';
import type { ClerkConfig } from '../config/index.js';
import { fleetProgressQuery, fleetRefreshWorkflow, type FleetRefreshCounts, type FleetRefreshProgress } from '../workflows/fleet.js';
import { taskQueuesWithPrefix } from '../workflows/types.js';
import { describeRun, type Priority } from './site-runs.js';

/** One `clerk enqueue --all` at a time: a second one while it runs returns the running refresh. */
export const ENQUEUE_ALL_WORKFLOW_ID = 'fleet/enqueue-all';

export interface FleetRefreshRun {
  workflowId: string;
  runId: string;
  /** False when a refresh of every site was already running, which is returned instead. */
  started: boolean;
}

/**
 * `clerk enqueue --all`: the nightly refresh's workflow, now: every registered site, oldest last
 * successful run first, at most `maxSitesInFlight` of them in a run at once.
 */
export async function enqueueAllSites(
  client: Client,
  config: ClerkConfig,
  options: { spreadMs: number; maxSitesInFlight: number; priority: Priority },
): Promise<FleetRefreshRun> {
  const workflowId = ENQUEUE_ALL_WORKFLOW_ID;
  const running = await describeRun(client, workflowId);
  if (running?.status === 'RUNNING') return { workflowId, runId: running.runId, started: false };
  const queues = taskQueuesWithPrefix(config.temporal.taskQueuePrefix);
  const handle = await client.workflow.start(fleetRefreshWorkflow, {
    workflowId,
    taskQueue: queues.workflows,
    args: [{ queues, spreadMs: options.spreadMs, maxSitesInFlight: options.maxSitesInFlight, priority: options.priority }],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  return { workflowId, runId: handle.firstExecutionRunId, started: handle.firstExecutionRunId !== running?.runId };
}

/** The refresh's progress, or undefined when no worker answers (or it has closed). */
export async function queryFleetProgress(client: Client, workflowId: string): Promise<FleetRefreshProgress | undefined> {
  try {
    return await client.workflow.getHandle(workflowId).query(fleetProgressQuery);
  } catch {
    return undefined;
  }
}

/** Waits for the refresh (following continue-as-new) and returns its counts. */
export function fleetRefreshResult(client: Client, workflowId: string, runId: string): Promise<FleetRefreshCounts> {
  return client.workflow.getHandle<typeof fleetRefreshWorkflow>(workflowId, runId).result();
}
