import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { ClerkConfig } from '../config/index.js';
import { STATUS_QUERY_TIMEOUT_MS } from './deadlines.js';
import { siteWorkflow, statusQuery } from '../workflows/site.js';
import { kindSearchAttribute, siteSearchAttribute, stageSearchAttribute } from '../workflows/search-attributes.js';
import { defaultFanOutLimits, siteWorkflowId, taskQueuesWithPrefix, type FanOutLimits, type SettledSnapshot, type SiteStatus } from '../workflows/types.js';

export type Priority = 'high' | 'normal' | 'low';

/** Temporal priority keys: 1 is dispatched first, 3 is the default. */
const priorityKeys: Record<Priority, number> = { high: 1, normal: 3, low: 5 };

export interface EnqueuedRun {
  subdomain: string;
  workflowId: string;
  runId: string;
  /** False when the site already had a run in progress, which is returned instead. */
  started: boolean;
  /** The server handed the run's first workflow task straight to a worker on this client's connection. */
  eagerlyStarted?: boolean;
}

/**
 * Starts the site's workflow, or returns the one already running: the workflow id is the site,
 * so two enqueues can never run a site twice at once. The start is asked first, and the running
 * run looked up only when the start is refused: one round trip to the server for a site with no
 * run open (every site of a nightly refresh), two when one is.
 */
export async function enqueueSite(
  client: Client,
  config: ClerkConfig,
  subdomain: string,
  options: {
    priority?: Priority;
    limits?: Partial<FanOutLimits>;
    full?: boolean;
    /**
     * `clerk retry --failed-only`: called only when no run is open, just before the start, to send
     * the failed work back to be read; returns the counts of what stays settled. The run then
     * reads no listing.
     */
    failedOnly?: () => Promise<SettledSnapshot>;
    /**
     * Ask the server to hand the run's first workflow task straight back to a workflows worker on
     * the client's own connection (a client on a worker's NativeConnection only; see fleet.ts).
     */
    eager?: boolean;
  } = {},
): Promise<EnqueuedRun> {
  const workflowId = siteWorkflowId(subdomain);
  let failedOnly: { settled: SettledSnapshot } | undefined;
  if (options.failedOnly) {
    // Resetting failed work under a run that is still reading it would race it: look first.
    const running = await describeRun(client, workflowId);
    if (running?.status === 'RUNNING') return { subdomain, workflowId, runId: running.runId, started: false };
    failedOnly = { settled: await options.failedOnly() };
  }
  const queues = taskQueuesWithPrefix(config.temporal.taskQueuePrefix);
  for (let attempt = 1; ; attempt++) {
    try {
      const handle = await client.workflow.start(siteWorkflow, {
        workflowId,
        taskQueue: queues.workflows,
        // The limits are resolved here and stored in the input: a later change of the defaults must
        // not change what an open run replays (see docs/WORKFLOW-CHANGES.md).
        args: [{ subdomain, queues, limits: { ...defaultFanOutLimits, ...options.limits }, ...(options.full ? { full: true } : {}), ...(failedOnly ? { failedOnly } : {}) }],
        // A run open already is not joined but reported (below), so `started` is known for sure.
        workflowIdConflictPolicy: 'FAIL',
        priority: { priorityKey: priorityKeys[options.priority ?? 'normal'] },
        ...(options.eager ? { requestEagerStart: true } : {}),
        typedSearchAttributes: [
          { key: siteSearchAttribute, value: subdomain },
          { key: stageSearchAttribute, value: 'queued' },
          { key: kindSearchAttribute, value: 'site' },
        ],
      });
      return { subdomain, workflowId, runId: handle.firstExecutionRunId, started: true, ...(handle.eagerlyStarted ? { eagerlyStarted: true } : {}) };
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      const running = await describeRun(client, workflowId);
      if (running?.status === 'RUNNING') return { subdomain, workflowId, runId: running.runId, started: false };
      // Closed between the refusal and the look-up: start again, once.
      if (attempt >= 2) throw error;
    }
  }
}

export interface RunDescription {
  runId: string;
  status: string;
}

export async function describeRun(client: Client, workflowId: string): Promise<RunDescription | undefined> {
  try {
    const description = await client.workflow.getHandle(workflowId).describe();
    return { runId: description.runId, status: description.status.name };
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  }
}

/**
 * Asks the site's latest run for its status. A query needs a worker polling the workflows queue;
 * without one it gives up after `timeoutMs` and returns undefined.
 */
export async function querySiteStatus(client: Client, subdomain: string, timeoutMs = STATUS_QUERY_TIMEOUT_MS): Promise<SiteStatus | undefined> {
  try {
    return await client.connection.withDeadline(Date.now() + timeoutMs, () =>
      client.workflow.getHandle(siteWorkflowId(subdomain)).query(statusQuery),
    );
  } catch {
    return undefined;
  }
}

/**
 * What `clerk status <site>` reads of a site's run: its latest run and the status query's answer.
 * The SDK's client reads them (clientRunReader), and so does the lighter site-status-rpc.ts.
 */
export interface SiteRunReader {
  describeRun(workflowId: string): Promise<RunDescription | undefined>;
  querySiteStatus(subdomain: string): Promise<SiteStatus | undefined>;
}

export function clientRunReader(client: Client): SiteRunReader {
  return {
    describeRun: (workflowId) => describeRun(client, workflowId),
    querySiteStatus: (subdomain) => querySiteStatus(client, subdomain),
  };
}
