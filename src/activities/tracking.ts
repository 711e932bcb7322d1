import { CancelledFailure, Context } from '@temporalio/activity';
import { metrics } from '../metrics/index.js';
import { recordJobEnd, recordJobStart } from '../progress/job-tracking.js';
import type { ActivityDeps } from './deps.js';

/**
 * Wraps an activity so each execution attempt leaves a job_tracking row: running when it
 * starts, then succeeded, failed with the error, or cancelled when its run stopped it (the error
 * kept too). Every activity takes a `subdomain`. Each attempt is also timed into
 * `clerk_activity_seconds` and logged at start and end with its site and stage.
 */
export function tracked<Input extends { subdomain: string }, Output>(
  deps: ActivityDeps,
  stage: string,
  run: (input: Input) => Promise<Output>,
): (input: Input) => Promise<Output> {
  return async (input: Input) => {
    const context = Context.current();
    stages.set(context, stage);
    const info = context.info;
    const execution = workflowExecutionOf(info);
    // The context's logger adds the workflow and activity ids; the site and stage are known here.
    const where = { subdomain: input.subdomain, stage };
    const startedAt = performance.now();
    context.log.info('activity started', where);
    const jobId = await recordJobStart(deps.db, {
      subdomain: input.subdomain,
      jobType: info.activityType,
      stage,
      workflowId: execution.workflowId,
      runId: execution.runId,
      activityId: info.activityId,
      attempt: info.attempt,
      taskQueue: info.taskQueue,
      host: deps.config.host,
    });
    try {
      const output = await run(input);
      await recordJobEnd(deps.db, jobId, {});
      const seconds = (performance.now() - startedAt) / 1000;
      metrics.activity(info.activityType, stage, 'succeeded', seconds);
      context.log.info('activity finished', { ...where, seconds });
      return output;
    } catch (error) {
      const seconds = (performance.now() - startedAt) / 1000;
      const message = error instanceof Error ? error.message : String(error);
      const cancelled = stoppedByItsRun(context);
      metrics.activity(info.activityType, stage, cancelled ? 'cancelled' : 'failed', seconds);
      if (cancelled) context.log.info('activity cancelled', { ...where, seconds, error: message });
      else context.log.warn('activity failed', { ...where, seconds, error: message });
      // Recording is best effort here: the activity's own error is the one Temporal must see.
      await recordJobEnd(deps.db, jobId, { error: message, cancelled }).catch(() => {});
      throw error;
    }
  };
}

/**
 * Whether the attempt ended because its run stopped it: the run was cancelled (`clerk cancel`), or
 * has closed (terminated by `clerk purge`, say). Its worker learns so at a heartbeat and aborts the
 * attempt's cancellation signal; whatever the attempt then throws (a CancelledFailure, an aborted
 * child process) is the run's doing, not a failure of the attempt. A heartbeat timeout, a worker
 * shutting down, a pause or a reset are not: the attempt is retried, and its end is a failure.
 */
function stoppedByItsRun(context: Context): boolean {
  if (!context.cancellationSignal.aborted) return false;
  const details = context.cancellationDetails;
  if (details) return details.cancelRequested || details.notFound;
  // Without details (an older server), the reason the SDK aborted the signal with says it.
  const reason: unknown = context.cancellationSignal.reason;
  return reason instanceof CancelledFailure && (reason.message === 'CANCELLED' || reason.message === 'NOT_FOUND');
}

const stages = new WeakMap<Context, string>();

/** The pipeline stage of the tracked activity running in `context`, so every log line of it can say so. */
export function stageOf(context: Context): string | undefined {
  return stages.get(context);
}

/** clerk's activities always run on behalf of a workflow; the SDK types also allow standalone ones. */
export function workflowExecutionOf(info: { workflowExecution?: { workflowId: string; runId: string } }): { workflowId: string; runId: string } {
  if (!info.workflowExecution) throw new Error('clerk activities must be called from a workflow');
  return info.workflowExecution;
}
