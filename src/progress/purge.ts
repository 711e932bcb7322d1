import type { Db } from '../db/connect.js';

/**
 * A site's tracking rows: what `clerk purge` deletes so the site can run again from scratch. The
 * site's registration (its `sites` row: fetcher, URL, settings) stays; its fetch and error marks
 * on that row are cleared, or the next run would fetch only meetings since the last fetch.
 * Deployment records go only with the deployed archives they describe (`--files`): while an
 * archive is still served, its records say what it is, and its version number must not be reused.
 */
export const trackingTables = ['pages', 'documents', 'site_progress', 'job_tracking', 'listing_rejections', 'deployments'] as const;
export type TrackingTable = (typeof trackingTables)[number];
export type TrackingRowCounts = Record<TrackingTable, number>;

export async function countTrackingRows(db: Db, subdomain: string, options: { deployments: boolean }): Promise<Partial<TrackingRowCounts>> {
  const counts: Partial<TrackingRowCounts> = {};
  for (const table of tablesToPurge(options)) {
    const row = await db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('subdomain', '=', subdomain)
      .executeTakeFirstOrThrow();
    counts[table] = Number(row.n);
  }
  return counts;
}

/** Deletes the site's tracking rows in one transaction and returns how many went from each table. */
export async function deleteTrackingRows(db: Db, subdomain: string, options: { deployments: boolean }): Promise<Partial<TrackingRowCounts>> {
  return db.transaction().execute(async (trx) => {
    const deleted: Partial<TrackingRowCounts> = {};
    // Pages go before the documents they belong to (their rows would cascade, uncounted).
    for (const table of tablesToPurge(options)) {
      const result = await trx.deleteFrom(table).where('subdomain', '=', subdomain).executeTakeFirst();
      deleted[table] = Number(result.numDeletedRows);
    }
    await trx
      .updateTable('sites')
      .set({ last_fetched_at: null, last_error_stage: null, last_error_message: null, last_error_at: null, updated_at: new Date() })
      .where('subdomain', '=', subdomain)
      .execute();
    return deleted;
  });
}

/** An activity attempt the workflow service still holds as started, and when it last heard from it. */
export interface LiveAttempt {
  workflowId: string;
  runId: string;
  activityId: string;
  attempt: number;
  /** Its last heartbeat, or its start when it has not heartbeated yet. */
  heardAt: Date;
}

export interface SettleOptions {
  /** The longest wait in all. */
  timeoutMs: number;
  /** The activities' heartbeat timeout: an attempt not heard from for longer is dead, for Temporal too. */
  heartbeatTimeoutMs: number;
  /** The attempts Temporal held as started before the run was stopped. */
  live: LiveAttempt[];
  /** When `live` was read: an attempt that started later could not be in it. */
  liveReadAt: Date;
}

/**
 * Waits until no activity attempt of the site that may still be alive is recorded as running. An
 * activity of a terminated run learns of it only at its next heartbeat and may write until then;
 * rows deleted before that could come back. A row is waited for while its attempt may still be
 * heard from: it is one Temporal held as started (or one that started after they were read) and
 * the heartbeat timeout has not passed since it was last heard from. Any other row marked running
 * is abandoned (its worker died, or its run closed long ago) and is not waited for: it would stay
 * running for ever. Returns the rows still awaited at `timeoutMs`, and the abandoned ones.
 */
export async function waitForRunningJobs(db: Db, subdomain: string, options: SettleOptions): Promise<{ running: number; abandoned: number }> {
  const deadline = Date.now() + options.timeoutMs;
  const lastHeard = new Map(options.live.map((a) => [attemptKey(a.workflowId, a.runId, a.activityId, a.attempt), a.heardAt.getTime()]));
  for (;;) {
    const rows = await db
      .selectFrom('job_tracking')
      .select(['workflow_id', 'run_id', 'activity_id', 'attempt', 'started_at'])
      .where('subdomain', '=', subdomain)
      .where('status', '=', 'running')
      .execute();
    const now = Date.now();
    const awaited = rows.filter((row) => {
      const heardAt =
        lastHeard.get(attemptKey(row.workflow_id, row.run_id, row.activity_id, row.attempt)) ??
        (row.started_at.getTime() >= options.liveReadAt.getTime() ? row.started_at.getTime() : undefined);
      return heardAt !== undefined && now < heardAt + options.heartbeatTimeoutMs;
    }).length;
    if (awaited === 0 || now >= deadline) return { running: awaited, abandoned: rows.length - awaited };
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The site's activity attempts recorded as running. */
export async function countRunningJobs(db: Db, subdomain: string): Promise<number> {
  const row = await db
    .selectFrom('job_tracking')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('subdomain', '=', subdomain)
    .where('status', '=', 'running')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

function attemptKey(workflowId: string, runId: string, activityId: string, attempt: number): string {
  return `${workflowId}\0${runId}\0${activityId}\0${attempt}`;
}

function tablesToPurge(options: { deployments: boolean }): TrackingTable[] {
  return trackingTables.filter((table) => table !== 'deployments' || options.deployments);
}
