import type { Db } from '../db/connect.js';

export interface JobExecution {
  subdomain: string;
  jobType: string;
  stage: string;
  workflowId: string;
  runId: string;
  activityId: string;
  attempt: number;
  taskQueue: string;
}

export function jobIdOf(job: JobExecution): string {
  return `${job.workflowId}/${job.runId}/${job.activityId}#${job.attempt}`;
}

/**
 * Records that an activity attempt started. An earlier attempt still marked running never
 * finished (its worker died): it is marked lost, so the table tells the whole story.
 */
export async function recordJobStart(db: Db, job: JobExecution): Promise<string> {
  const jobId = jobIdOf(job);
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable('job_tracking')
      .set({ status: 'lost', finished_at: new Date(), error: 'the worker running this attempt stopped before it finished' })
      .where('workflow_id', '=', job.workflowId)
      .where('run_id', '=', job.runId)
      .where('activity_id', '=', job.activityId)
      .where('attempt', '<', job.attempt)
      .where('status', '=', 'running')
      .execute();
    await trx
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
        status: 'running',
      })
      .onConflict((oc) => oc.column('job_id').doUpdateSet({ status: 'running', started_at: new Date(), finished_at: null, error: null }))
      .execute();
  });
  return jobId;
}

export async function recordJobEnd(db: Db, jobId: string, outcome: { error?: string }): Promise<void> {
  await db
    .updateTable('job_tracking')
    .set({ status: outcome.error === undefined ? 'succeeded' : 'failed', finished_at: new Date(), error: outcome.error ?? null })
    .where('job_id', '=', jobId)
    .execute();
}
