import { Context } from '@temporalio/activity';
import { recordJobEnd, recordJobStart } from '../progress/job-tracking.js';
import type { ActivityDeps } from './deps.js';

/**
 * Wraps an activity so each execution attempt leaves a job_tracking row: running when it
 * starts, then succeeded or failed with the error. Every activity takes a `subdomain`.
 */
export function tracked<Input extends { subdomain: string }, Output>(
  deps: ActivityDeps,
  stage: string,
  run: (input: Input) => Promise<Output>,
): (input: Input) => Promise<Output> {
  return async (input: Input) => {
    const info = Context.current().info;
    const execution = workflowExecutionOf(info);
    const jobId = await recordJobStart(deps.db, {
      subdomain: input.subdomain,
      jobType: info.activityType,
      stage,
      workflowId: execution.workflowId,
      runId: execution.runId,
      activityId: info.activityId,
      attempt: info.attempt,
      taskQueue: info.taskQueue,
    });
    try {
      const output = await run(input);
      await recordJobEnd(deps.db, jobId, {});
      return output;
    } catch (error) {
      // Recording is best effort here: the activity's own error is the one Temporal must see.
      await recordJobEnd(deps.db, jobId, { error: error instanceof Error ? error.message : String(error) }).catch(() => {});
      throw error;
    }
  };
}

/** clerk's activities always run on behalf of a workflow; the SDK types also allow standalone ones. */
export function workflowExecutionOf(info: { workflowExecution?: { workflowId: string; runId: string } }): { workflowId: string; runId: string } {
  if (!info.workflowExecution) throw new Error('clerk activities must be called from a workflow');
  return info.workflowExecution;
}
