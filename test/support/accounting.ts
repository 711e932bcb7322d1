import { expect } from 'vitest';
import type { Client } from '@temporalio/client';
import type { Db } from '../../src/db/connect.js';
import { collectHistories, scheduledActivities } from '../../src/temporal/histories.js';
import type { SiteStatus } from '../../src/workflows/types.js';

/**
 * The accounting invariant clerk exists for: at the end, every page is done or failed with a
 * reason, and the pages table, site_progress, the status query and job_tracking all agree.
 */
export async function expectExactAccounting(db: Db, client: Client, subdomain: string, status: SiteStatus, runId: string): Promise<void> {
  const pages = await db.selectFrom('pages').selectAll().where('subdomain', '=', subdomain).execute();
  const documents = await db.selectFrom('documents').selectAll().where('subdomain', '=', subdomain).execute();
  const done = pages.filter((p) => p.status === 'done').length;
  const failed = pages.filter((p) => p.status === 'failed');
  expect(pages.filter((p) => p.status === 'pending')).toEqual([]);
  expect(failed.filter((p) => !p.failure_reason)).toEqual([]);
  expect(new Set(pages.map((p) => `${p.document_id}#${p.page_number}`)).size).toBe(pages.length);
  for (const doc of documents.filter((d) => d.status === 'done')) {
    const numbers = pages.filter((p) => p.document_id === doc.id).map((p) => p.page_number).sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: doc.page_count ?? 0 }, (_, i) => i + 1));
  }

  const counts = { total: pages.length, done, failed: failed.length };
  expect(status.pages).toEqual(counts);
  expect(status.documents).toEqual({
    total: documents.length,
    done: documents.filter((d) => d.status === 'done').length,
    failed: documents.filter((d) => d.status === 'failed').length,
  });
  const progress = await db.selectFrom('site_progress').selectAll().where('subdomain', '=', subdomain).executeTakeFirstOrThrow();
  expect({ total: progress.pages_total, done: progress.pages_done, failed: progress.pages_failed }).toEqual(counts);
  expect({ total: progress.documents_total, done: progress.documents_done, failed: progress.documents_failed }).toEqual(status.documents);

  // Every activity the server scheduled for this run has its rows, and the one success recorded is
  // the attempt whose result the server accepted; attempts whose results were lost are marked lost.
  const scheduled = scheduledActivities(await collectHistories(client, `site/${subdomain}`, runId));
  const jobs = await db.selectFrom('job_tracking').selectAll().where('subdomain', '=', subdomain).execute();
  expect(jobs.filter((j) => j.status === 'running')).toEqual([]);
  const byActivity = new Map<string, { status: string; attempt: number }[]>();
  for (const job of jobs) {
    const key = `${job.workflow_id}|${job.run_id}|${job.activity_id}`;
    byActivity.set(key, [...(byActivity.get(key) ?? []), { status: job.status, attempt: job.attempt }]);
  }
  for (const activity of scheduled) {
    const attempts = byActivity.get(`${activity.workflowId}|${activity.runId}|${activity.activityId}`);
    const label = `${activity.activityType} ${activity.activityId} of ${activity.workflowId}`;
    expect(attempts, label).toBeDefined();
    const succeeded = attempts!.filter((a) => a.status === 'succeeded').map((a) => a.attempt);
    expect(succeeded, label).toEqual(activity.completedAttempt === undefined ? [] : [activity.completedAttempt]);
  }
}
