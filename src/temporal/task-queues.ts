import type { Client } from '@temporalio/client';
import type { TaskQueues } from '../workflows/types.js';

/**
 * What the Temporal server says of clerk's task queues: how much work waits (backlog), how many
 * workers poll, and how fast tasks go out. Read with DescribeTaskQueue and `reportStats`, which the
 * server answers from its matching service's counters (approximate, and cheap to ask).
 */

export type TaskKind = 'workflow' | 'activity';

export interface TaskQueueStats {
  /** Tasks waiting for a worker (approximate). */
  backlog: number;
  /** How long the oldest waiting task has waited, in seconds (0 when none waits). */
  backlogAgeSeconds: number;
  /** Tasks handed to workers per second, recently. */
  dispatchRate: number;
  /** Tasks added per second, recently. */
  addRate: number;
  /** Workers that polled in the last few minutes. */
  pollers: number;
  /** The newest poll, ISO 8601; null when no worker polled. */
  lastPollAt: string | null;
}

export interface TaskQueueReport {
  /** The queue's role in clerk: workflows, fetch, ocr, extraction, deploy. */
  role: keyof TaskQueues;
  /** Its name on the server (with the configured prefix). */
  name: string;
  /** Per kind of task the queue carries: the workflows queue carries both, the others activities. */
  kinds: Partial<Record<TaskKind, TaskQueueStats>>;
}

// temporal.api.enums.v1 values, as numbers: importing @temporalio/proto's enums would load it for three constants.
const TASK_QUEUE_TYPE_WORKFLOW = 1;
const TASK_QUEUE_TYPE_ACTIVITY = 2;
const TASK_QUEUE_KIND_NORMAL = 1;

/** The kinds of task each queue carries: site, document and fleet workflows run on the workflows queue, with a few light activities. */
const kindsOf = (role: keyof TaskQueues): TaskKind[] => (role === 'workflows' ? ['workflow', 'activity'] : ['activity']);

/** Describes every queue and kind at once: one round trip's wait, however many queues. */
export async function describeTaskQueues(client: Client, queues: TaskQueues): Promise<TaskQueueReport[]> {
  const roles = Object.keys(queues) as (keyof TaskQueues)[];
  return Promise.all(
    roles.map(async (role) => {
      const kinds = kindsOf(role);
      const stats = await Promise.all(kinds.map((kind) => describeOne(client, queues[role], kind)));
      return { role, name: queues[role], kinds: Object.fromEntries(kinds.map((kind, i) => [kind, stats[i]!])) };
    }),
  );
}

async function describeOne(client: Client, name: string, kind: TaskKind): Promise<TaskQueueStats> {
  const response = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name, kind: TASK_QUEUE_KIND_NORMAL },
    taskQueueType: kind === 'workflow' ? TASK_QUEUE_TYPE_WORKFLOW : TASK_QUEUE_TYPE_ACTIVITY,
    reportStats: true,
  });
  const stats = response.stats;
  const lastPolls = (response.pollers ?? []).map((poller) => toMillis(poller.lastAccessTime)).filter((ms) => ms > 0);
  return {
    backlog: toNumber(stats?.approximateBacklogCount),
    backlogAgeSeconds: round(toMillis(stats?.approximateBacklogAge) / 1000, 3),
    dispatchRate: round(stats?.tasksDispatchRate ?? 0, 3),
    addRate: round(stats?.tasksAddRate ?? 0, 3),
    pollers: response.pollers?.length ?? 0,
    lastPollAt: lastPolls.length > 0 ? new Date(Math.max(...lastPolls)).toISOString() : null,
  };
}

type LongLike = number | { toNumber(): number } | null | undefined;

function toNumber(value: LongLike): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : value.toNumber();
}

/** A protobuf Timestamp or Duration, in milliseconds. */
function toMillis(value: { seconds?: LongLike; nanos?: number | null } | null | undefined): number {
  if (!value) return 0;
  return toNumber(value.seconds) * 1000 + Math.floor((value.nanos ?? 0) / 1e6);
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
