import type { Db } from '../db/connect.js';
import type { JobStatus } from '../db/schema.js';

export interface JobExecution {
  subdomain: string;
  jobType: string;
  stage: string;
  workflowId: string;
  runId: string;
  activityId: string;
  attempt: number;
  taskQueue: string;
  /** The worker host running the attempt (CLERK_HOST). */
  host?: string;
}

export function jobIdOf(job: JobExecution): string {
  return `${job.workflowId}/${job.runId}/${job.activityId}#${job.attempt}`;
}

/**
 * Records that an activity attempt started. Temporal starts a new attempt only when it never
 * accepted the last one's result, so an earlier attempt still marked running died with its worker,
 * and one marked succeeded finished but its result was lost (the worker died before reporting it).
 * Both are marked lost: the table then holds at most one success per activity, the one that counted.
 */
export async function recordJobStart(db: Db, job: JobExecution): Promise<string> {
  const jobId = jobIdOf(job);
  const insert = (executor: Db) =>
    executor
      .insertInto('job_tracking')
      .values({
        job_id: jobId,
        subdomain: job.subdomain,
        job_type: job.jobType,
        stage: job.stage,
        workflow_id: job.workflowId,
        run_id: job.runId,
        activity_id: job.activityId,
        attempt: job.attempt,
        task_queue: job.taskQueue,
        host: job.host ?? null,
        status: 'running',
      })
      .onConflict((oc) => oc.column('job_id').doUpdateSet({ status: 'running', host: job.host ?? null, started_at: new Date(), finished_at: null, error: null }))
      .execute();
  // A first attempt has no earlier ones to judge: one statement instead of a transaction of three,
  // for every activity clerk runs (on a busy OCR worker that is four round trips a page saved).
  if (job.attempt <= 1) {
    await insert(db);
    return jobId;
  }
  await db.transaction().execute(async (trx) => {
    const earlierAttempts = (status: JobStatus) =>
      trx
        .updateTable('job_tracking')
        .where('workflow_id', '=', job.workflowId)
        .where('run_id', '=', job.runId)
        .where('activity_id', '=', job.activityId)
        .where('attempt', '<', job.attempt)
        .where('status', '=', status);
    await earlierAttempts('running')
      .set({ status: 'lost', finished_at: new Date(), error: 'the worker running this attempt stopped before it finished' })
      .execute();
    await earlierAttempts('succeeded')
      .set({ status: 'lost', error: 'this attempt finished, but its worker stopped before Temporal received the result, so Temporal ran it again' })
      .execute();
    await insert(trx);
  });
  return jobId;
}

/**
 * Ends an attempt: succeeded without an error, failed with one, or cancelled (with what it threw)
 * when its run stopped it. A later attempt may already have marked this one lost; that verdict stands.
 */
export async function recordJobEnd(db: Db, jobId: string, outcome: { error?: string; cancelled?: boolean }): Promise<void> {
  const status: JobStatus = outcome.cancelled ? 'cancelled' : outcome.error === undefined ? 'succeeded' : 'failed';
  await db
    .updateTable('job_tracking')
    .set({ status, finished_at: new Date(), error: outcome.error ?? null })
    .where('job_id', '=', jobId)
    .where('status', '=', 'running')
    .execute();
}
