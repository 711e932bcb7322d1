import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveSite } from '../../src/sites/repository.js';
import { recordJobEnd, recordJobStart, type JobExecution } from '../../src/progress/job-tracking.js';
import { createHarness, type Harness } from '../support/harness.js';

const SITE = 'tracking.ca';

describe('job_tracking, one row per activity attempt', () => {
  let harness: Harness;

  beforeAll(async () => {
    harness = await createHarness('jobtracking');
    await saveSite(harness.db, { subdomain: SITE, name: 'Tracking', fetcher: 'http-index', sourceUrl: 'http://127.0.0.1:1/index.html' });
  });

  afterAll(async () => {
    await harness?.close();
  });

  const attempt = (activityId: string, n: number): JobExecution => ({
    subdomain: SITE,
    jobType: 'ocrPage',
    stage: 'ocr',
    workflowId: `site/${SITE}/doc/d1`,
    runId: 'run-1',
    activityId,
    attempt: n,
    taskQueue: 'ocr',
  });

  async function statusesOf(activityId: string): Promise<{ attempt: number; status: string; error: string | null }[]> {
    return harness.db
      .selectFrom('job_tracking')
      .select(['attempt', 'status', 'error'])
      .where('activity_id', '=', activityId)
      .orderBy('attempt')
      .execute();
  }

  it('marks an attempt lost when its worker died mid-run and Temporal started the next one', async () => {
    await recordJobStart(harness.db, attempt('a1', 1));
    const second = await recordJobStart(harness.db, attempt('a1', 2));
    await recordJobEnd(harness.db, second, {});

    const rows = await statusesOf('a1');
    expect(rows.map((r) => [r.attempt, r.status])).toEqual([
      [1, 'lost'],
      [2, 'succeeded'],
    ]);
    expect(rows[0]!.error).toMatch(/stopped before it finished/);
  });

  it('marks a finished attempt lost when Temporal never received its result and ran it again, so one success remains', async () => {
    const first = await recordJobStart(harness.db, attempt('a2', 1));
    await recordJobEnd(harness.db, first, {});
    const second = await recordJobStart(harness.db, attempt('a2', 2));
    await recordJobEnd(harness.db, second, {});

    const rows = await statusesOf('a2');
    expect(rows.map((r) => [r.attempt, r.status])).toEqual([
      [1, 'lost'],
      [2, 'succeeded'],
    ]);
    expect(rows[0]!.error).toMatch(/before Temporal received the result/);
  });

  it('keeps an attempt lost when it reports a finish after the next attempt has started', async () => {
    const first = await recordJobStart(harness.db, attempt('a3', 1));
    await recordJobStart(harness.db, attempt('a3', 2));
    await recordJobEnd(harness.db, first, {});

    expect((await statusesOf('a3')).map((r) => [r.attempt, r.status])).toEqual([
      [1, 'lost'],
      [2, 'running'],
    ]);
  });

  it('leaves a failed attempt failed: its error is why Temporal retried', async () => {
    const first = await recordJobStart(harness.db, attempt('a4', 1));
    await recordJobEnd(harness.db, first, { error: 'Postgres is restarting' });
    const second = await recordJobStart(harness.db, attempt('a4', 2));
    await recordJobEnd(harness.db, second, {});

    expect((await statusesOf('a4')).map((r) => [r.attempt, r.status, r.error])).toEqual([
      [1, 'failed', 'Postgres is restarting'],
      [2, 'succeeded', null],
    ]);
  });
});
