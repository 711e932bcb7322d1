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

/**
 * Waits, up to `timeoutMs`, until no activity attempt of the site is recorded as running. An
 * activity of a terminated run learns of it only at its next heartbeat (up to half a minute) and
 * may write until then; rows deleted before that could come back. Returns the attempts still
 * running at the end (those of a worker that died stay running for ever).
 */
export async function waitForRunningJobs(db: Db, subdomain: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await db
      .selectFrom('job_tracking')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('subdomain', '=', subdomain)
      .where('status', '=', 'running')
      .executeTakeFirstOrThrow();
    const running = Number(row.n);
    if (running === 0 || Date.now() >= deadline) return running;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function tablesToPurge(options: { deployments: boolean }): TrackingTable[] {
  return trackingTables.filter((table) => table !== 'deployments' || options.deployments);
}
