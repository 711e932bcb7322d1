import { Context } from '@temporalio/activity';
import { sql } from 'kysely';
import type { Db } from '../db/connect.js';
import { connectClient } from '../temporal/connection.js';
import { enqueueSite, type Priority } from '../temporal/site-runs.js';
import type { ActivityDeps } from './deps.js';

/** What a scheduled refresh enqueues with: below an operator's `clerk enqueue` (normal). */
export const FLEET_REFRESH_PRIORITY: Priority = 'low';

/**
 * The fleet refresh's activities (fleetRefreshWorkflow), on the workflows queue. They act on many
 * sites at once, so they are not `tracked` (job_tracking rows belong to one site).
 */
export function createFleetActivities(deps: ActivityDeps) {
  const { db, config } = deps;
  return {
    /** Every registered site, oldest last successful run first; sites never run successfully first. */
    async listSitesOldestFirst(_input: Record<string, never>): Promise<string[]> {
      return (await sitesByLastSuccess(db)).map((row) => row.subdomain);
    },

    /**
     * Enqueues one batch, one site after the other, in the given order. A site with a run open is
     * left alone; a site whose enqueue fails is counted and logged, and the batch goes on. The
     * Temporal client is connected for the batch from the worker's config, and closed after it.
     */
    async enqueueSiteBatch(input: { subdomains: string[] }): Promise<{ started: number; alreadyRunning: number; failed: number }> {
      const log = Context.current().log;
      const outcome = { started: 0, alreadyRunning: 0, failed: 0 };
      const client = await connectClient(config);
      try {
        for (const subdomain of input.subdomains) {
          try {
            const run = await enqueueSite(client, config, subdomain, { priority: FLEET_REFRESH_PRIORITY });
            if (run.started) outcome.started++;
            else outcome.alreadyRunning++;
          } catch (error) {
            outcome.failed++;
            log.warn('fleet refresh: enqueue failed', { subdomain, error: error instanceof Error ? error.message : String(error) });
          }
          Context.current().heartbeat();
        }
      } finally {
        await client.connection.close();
      }
      log.info('fleet refresh: batch enqueued', { sites: input.subdomains.length, ...outcome });
      return outcome;
    },
  };
}

export type FleetActivities = ReturnType<typeof createFleetActivities>;

/**
 * Every site with when its last successful run ended: the later of its progress row's finish (when
 * that run completed) and its newest deployment (a completed run deploys; this keeps a site's last
 * success when a later run failed). Null for a site never run successfully; those come first.
 */
export async function sitesByLastSuccess(db: Db): Promise<{ subdomain: string; lastSuccessAt: Date | null }[]> {
  const rows = await db
    .selectFrom('sites as s')
    .leftJoin('site_progress as p', 'p.subdomain', 's.subdomain')
    .select([
      's.subdomain',
      sql<Date | null>`greatest(
        case when p.current_stage = 'completed' then p.finished_at end,
        (select max(d.published_at) from deployments d where d.subdomain = s.subdomain)
      )`.as('last_success_at'),
    ])
    .orderBy(sql`last_success_at asc nulls first`)
    .orderBy('s.subdomain')
    .execute();
  return rows.map((row) => ({ subdomain: row.subdomain, lastSuccessAt: row.last_success_at }));
}
