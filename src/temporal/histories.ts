import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import type { FetchReport } from '../activities/fetch.js';

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

export interface ScheduledActivity {
  workflowId: string;
  runId: string;
  activityId: string;
  activityType: string;
  /** The attempt whose result the server accepted, when the activity completed. */
  completedAttempt?: number;
}

export function scheduledActivities(histories: WorkflowHistory[]): ScheduledActivity[] {
  return histories.flatMap((h) => {
    const events = h.history.events ?? [];
    // The started event is written when an activity closes, with the attempt that closed it.
    const attemptByScheduledEvent = new Map<string, number>();
    const completed = new Set<string>();
    for (const e of events) {
      const started = e.activityTaskStartedEventAttributes;
      if (started) attemptByScheduledEvent.set(String(started.scheduledEventId), started.attempt ?? 1);
      const done = e.activityTaskCompletedEventAttributes;
      if (done) completed.add(String(done.scheduledEventId));
    }
    return events.flatMap((e) => {
      const scheduled = e.activityTaskScheduledEventAttributes;
      if (!scheduled) return [];
      const eventId = String(e.eventId);
      return [
        {
          workflowId: h.workflowId,
          runId: h.runId,
          activityId: scheduled.activityId ?? '',
          activityType: scheduled.activityType?.name ?? '',
          ...(completed.has(eventId) ? { completedAttempt: attemptByScheduledEvent.get(eventId) } : {}),
        },
      ];
    });
  });
}

/**
 * What a site run's fetch reported (listed, downloaded, unchanged...), from its history: the result
 * of its fetchSite activity or, when its listing check had nothing to download and so did the fetch
 * itself, of that local activity (a marker). Undefined for a run that did not fetch.
 */
export function fetchReportOf(history: temporal.api.history.v1.IHistory): FetchReport | undefined {
  const scheduledTypes = new Map<string, string>();
  let report: FetchReport | undefined;
  for (const event of history.events ?? []) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) scheduledTypes.set(String(event.eventId), scheduled.activityType?.name ?? '');
    const completed = event.activityTaskCompletedEventAttributes;
    const payload = completed?.result?.payloads?.[0];
    if (payload && scheduledTypes.get(String(completed.scheduledEventId)) === 'fetchSite') {
      report = defaultPayloadConverter.fromPayload<{ fetch: FetchReport }>(payload).fetch;
    }
    const marker = event.markerRecordedEventAttributes;
    const data = marker?.details?.data?.payloads?.[0];
    const result = marker?.details?.result?.payloads?.[0];
    if (marker?.markerName === 'core_local_activity' && data && result) {
      if (defaultPayloadConverter.fromPayload<{ activity_type?: string }>(data).activity_type !== 'fetchSiteIfNothingToDownload') continue;
      const checked = defaultPayloadConverter.fromPayload<{ fetched: boolean; fetch?: FetchReport }>(result);
      if (checked.fetched) report = checked.fetch;
    }
  }
  return report;
}
