import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

export interface WorkflowHistory {
  workflowId: string;
  runId: string;
  workflowType: string;
  history: temporal.api.history.v1.IHistory;
}

/**
 * The histories of a workflow run and, recursively, of every child it started and every run it
 * continued as, so tests can check what the server really recorded.
 */
export async function collectHistories(client: Client, workflowId: string, runId?: string): Promise<WorkflowHistory[]> {
  const collected: WorkflowHistory[] = [];
  const pending: { workflowId: string; runId?: string }[] = [{ workflowId, ...(runId ? { runId } : {}) }];
  while (pending.length > 0) {
    const next = pending.shift()!;
    const handle = client.workflow.getHandle(next.workflowId, next.runId);
    const history = await handle.fetchHistory();
    const events = history.events ?? [];
    const started = events[0]?.workflowExecutionStartedEventAttributes;
    const description = await handle.describe();
    collected.push({ workflowId: next.workflowId, runId: next.runId ?? description.runId, workflowType: started?.workflowType?.name ?? '', history });
    for (const event of events) {
      const child = event.childWorkflowExecutionStartedEventAttributes?.workflowExecution;
      if (child?.workflowId && child.runId) pending.push({ workflowId: child.workflowId, runId: child.runId });
    }
    // A run that continued as new hands over to the next run of the same workflow id.
    const continued = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
    if (continued) pending.push({ workflowId: next.workflowId, runId: continued });
  }
  return collected;
}

export function scheduledActivities(histories: WorkflowHistory[]): { workflowId: string; runId: string; activityId: string; activityType: string }[] {
  return histories.flatMap((h) =>
    (h.history.events ?? [])
      .map((e) => e.activityTaskScheduledEventAttributes)
      .filter((a): a is NonNullable<typeof a> => Boolean(a))
      .map((a) => ({ workflowId: h.workflowId, runId: h.runId, activityId: a.activityId ?? '', activityType: a.activityType?.name ?? '' })),
  );
}
