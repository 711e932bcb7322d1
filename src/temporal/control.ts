import { WorkflowNotFoundError, type Client, type WorkflowExecutionInfo } from '@temporalio/client';
import { optionalTsToDate } from '@temporalio/common/lib/time.js';
import type { LiveAttempt } from '../progress/purge.js';
import { siteSearchAttribute, stageSearchAttribute } from '../workflows/search-attributes.js';
import { siteWorkflowId, type SiteStage, type TaskQueues } from '../workflows/types.js';

/**
 * Stopping site runs: graceful cancellation (`clerk cancel`, `clerk purge-queue`) and termination
 * (`clerk purge`). Visibility queries are built here from validated values only.
 */

/** A run of a site workflow, or one of its document and page-batch children. */
export interface OpenWorkflow {
  workflowId: string;
  runId: string;
  type: string;
}

export interface SiteRun extends OpenWorkflow {
  subdomain: string;
  /** The stage the run last entered (its ClerkStage search attribute). */
  stage: string;
}

/** The queues `clerk purge-queue` takes, and the site stage whose runs have work waiting on each. */
export const queueStages = {
  fetch: 'fetch',
  ocr: 'ocr',
  extraction: 'extraction',
  deploy: 'deploy',
  /** Every running site run: each has its workflow tasks on this queue. */
  workflows: null,
} as const satisfies Record<keyof TaskQueues, SiteStage | null>;

export type QueueName = keyof typeof queueStages;

export type CancelRequest = { state: 'requested'; run: OpenWorkflow } | { state: 'not-running' };

/**
 * Asks the site's open run to cancel. The workflow lets its children and activities stop, then
 * records the end as `cancelled`; this returns as soon as the request is accepted.
 */
export async function requestCancellation(client: Client, subdomain: string): Promise<CancelRequest> {
  const run = await openSiteRun(client, subdomain);
  if (!run) return { state: 'not-running' };
  // By workflow id only: a run that continued as new since is the one cancelled.
  await client.workflow.getHandle(run.workflowId).cancel();
  return { state: 'requested', run };
}

/** Waits until the site workflow's latest run has closed (following continue-as-new), and returns how it closed. */
export async function waitUntilClosed(client: Client, workflowId: string): Promise<string> {
  const handle = client.workflow.getHandle(workflowId);
  // A cancelled or failed run rejects here; how it closed is read from its description.
  await handle.result().catch(() => undefined);
  return (await handle.describe()).status.name;
}

/** The site's running workflow, if any. */
export async function openSiteRun(client: Client, subdomain: string): Promise<OpenWorkflow | undefined> {
  try {
    const description = await client.workflow.getHandle(siteWorkflowId(subdomain)).describe();
    if (description.status.name !== 'RUNNING') return undefined;
    return { workflowId: description.workflowId, runId: description.runId, type: description.type };
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  }
}

/**
 * The site's running workflows: its run and the document and page-batch children under it, whose
 * ids start with the run's (`site/<subdomain>/doc/...`).
 */
export async function openSiteWorkflows(client: Client, subdomain: string): Promise<OpenWorkflow[]> {
  const run = await openSiteRun(client, subdomain);
  if (!run) return [];
  const children = await listWorkflows(client, `ExecutionStatus = 'Running' AND WorkflowId STARTS_WITH ${quoted(`${run.workflowId}/`)}`);
  return [run, ...children.map(({ workflowId, runId, type }) => ({ workflowId, runId, type }))];
}

/** temporal.api.enums.v1.PendingActivityState's SCHEDULED (not yet taken by a worker); @temporalio/proto is CommonJS, its enums are not importable by name. */
const PENDING_ACTIVITY_STATE_SCHEDULED = 1;

/**
 * The activity attempts the server holds as started in `workflows`, each with when it last heard
 * from it (its last heartbeat, else its start): what `clerk purge` waits for after terminating.
 * A workflow that closed meanwhile has none.
 */
export async function startedActivityAttempts(client: Client, workflows: OpenWorkflow[]): Promise<LiveAttempt[]> {
  const attempts = await Promise.all(
    workflows.map(async ({ workflowId, runId }) => {
      let pending;
      try {
        pending = (await client.workflow.getHandle(workflowId, runId).describe()).raw.pendingActivities ?? [];
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return [];
        throw error;
      }
      return pending.flatMap((activity) => {
        const heardAt = optionalTsToDate(activity.lastHeartbeatTime) ?? optionalTsToDate(activity.lastStartedTime);
        const scheduledOnly = activity.state === PENDING_ACTIVITY_STATE_SCHEDULED;
        if (scheduledOnly || !heardAt || !activity.activityId) return [];
        return [{ workflowId, runId, activityId: activity.activityId, attempt: activity.attempt ?? 1, heardAt }];
      });
    }),
  );
  return attempts.flat();
}

/**
 * Terminates the site's run at once, without its cleanup. Its children close with it: they are
 * started with the default parent close policy, TERMINATE. Returns the run, or undefined when none was open.
 */
export async function terminateSiteRun(client: Client, subdomain: string, reason: string): Promise<OpenWorkflow | undefined> {
  const run = await openSiteRun(client, subdomain);
  if (!run) return undefined;
  try {
    await client.workflow.getHandle(run.workflowId, run.runId).terminate(reason);
  } catch (error) {
    // It closed on its own in between.
    if (!(error instanceof WorkflowNotFoundError)) throw error;
  }
  return run;
}

/**
 * The running site runs with work waiting on `queue`, found with one visibility query by their
 * ClerkStage search attribute (`workflows`: every running site run), on this deployment's queues only.
 */
export async function siteRunsWaitingOn(client: Client, queues: TaskQueues, queue: QueueName): Promise<SiteRun[]> {
  const stage = queueStages[queue];
  const conditions = [`WorkflowType = 'siteWorkflow'`, `ExecutionStatus = 'Running'`, `TaskQueue = ${quoted(queues.workflows)}`];
  if (stage !== null) conditions.push(`${stageSearchAttribute.name} = ${quoted(stage)}`);
  const runs = await listWorkflows(client, conditions.join(' AND '));
  return runs
    .map((info) => ({
      workflowId: info.workflowId,
      runId: info.runId,
      type: info.type,
      subdomain: info.typedSearchAttributes.get(siteSearchAttribute) ?? info.workflowId.replace(/^site\//, ''),
      stage: info.typedSearchAttributes.get(stageSearchAttribute) ?? 'queued',
    }))
    .sort((a, b) => a.subdomain.localeCompare(b.subdomain));
}

async function listWorkflows(client: Client, query: string): Promise<WorkflowExecutionInfo[]> {
  const found: WorkflowExecutionInfo[] = [];
  for await (const info of client.workflow.list({ query })) found.push(info);
  return found;
}

/** A string literal of Temporal's visibility query language. */
function quoted(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
