import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { sql } from 'kysely';
import type { Db } from '../db/connect.js';
import { enqueueSite, type Priority } from '../temporal/site-runs.js';
import { siteWorkflowId } from '../workflows/types.js';
import type { ActivityDeps } from './deps.js';

/** What a scheduled refresh enqueues with: below an operator's `clerk enqueue` (normal). */
export const FLEET_REFRESH_PRIORITY: Priority = 'low';

/**
 * The fleet refresh's activities (fleetRefreshWorkflow), on the workflows queue. They act on many
 * sites at once, so they are not `tracked` (job_tracking rows belong to one site).
 */
export function createFleetActivities(deps: ActivityDeps & { temporalClient: Client }) {
  const { db, config, temporalClient: client } = deps;
  const askedOfTemporal = new TemporalLookups();
  return {
    /** Every registered site, oldest last successful run first; sites never run successfully first. */
    async listSitesOldestFirst(_input: Record<string, never>): Promise<string[]> {
      return (await sitesByLastSuccess(db)).map((row) => row.subdomain);
    },

    /**
     * Enqueues one batch, its sites all at once (the refresh's order is kept from batch to batch).
     * A site with a run open is left alone; a site whose enqueue fails is counted and logged, and the batch goes on.
     * The starts go over the workers' own connection and ask to start eagerly: the server then
     * hands each run's first workflow task back in the start's answer to this process's workflows
     * worker (when it has a free slot) instead of through the task queue, a round trip less per
     * site. A worker without a free slot gets it from the queue as before.
     */
    async enqueueSiteBatch(input: { subdomains: string[]; priority?: Priority }): Promise<{ started: number; alreadyRunning: number; failed: number; running: string[] }> {
      const log = Context.current().log;
      const outcome = { started: 0, alreadyRunning: 0, failed: 0, running: [] as string[] };
      let eagerlyStarted = 0;
      // All at once: a thousand sites in batches of ten, one after the other, made the refresh's
      // own loop the bottleneck of a nightly run (issue 17's fleet benchmark).
      const outcomes = await Promise.all(
        input.subdomains.map(async (subdomain) => {
          try {
            const run = await enqueueSite(client, config, subdomain, { priority: input.priority ?? FLEET_REFRESH_PRIORITY, eager: true });
            if (run.eagerlyStarted) eagerlyStarted++;
            return run.started ? 'started' : 'alreadyRunning';
          } catch (error) {
            log.warn('fleet refresh: enqueue failed', { subdomain, error: error instanceof Error ? error.message : String(error) });
            return 'failed';
          } finally {
            Context.current().heartbeat();
          }
        }),
      );
      outcomes.forEach((result, i) => {
        outcome[result]++;
        if (result !== 'failed') outcome.running.push(input.subdomains[i]!);
      });
      log.info('fleet refresh: batch enqueued', { sites: input.subdomains.length, started: outcome.started, eagerlyStarted, alreadyRunning: outcome.alreadyRunning, failed: outcome.failed });
      return outcome;
    },

    /**
     * Those of the given sites still in a run. A site's run has closed when its progress row
     * records an end since it was enqueued (one query for them all); a site that has not after a
     * few seconds is asked of Temporal, its latest run, at most every 10 s (a run terminated by an
     * operator never records its end). With `atMost`, it looks again every quarter second,
     * heartbeating, until no more than that many are open or `waitMs` (at most a minute) has passed: the waiting happens here,
     * so the refresh's history gets one activity per wait, not a timer per look.
     */
    async sitesStillRunning(input: { sites: SiteInFlight[]; atMost?: number; waitMs?: number }): Promise<SiteInFlight[]> {
      const context = Context.current();
      const deadline = Date.now() + Math.min(input.waitMs ?? 0, MAX_WAIT_FOR_SITES_MS);
      let open = input.sites;
      for (;;) {
        open = await sitesWithoutRecordedEnd(db, open);
        const due = askedOfTemporal.due(open, Date.now());
        if (due.length > 0) {
          const running = new Set(await openSiteRuns(client, due.map((site) => site.subdomain)));
          open = open.filter((site) => !due.includes(site) || running.has(site.subdomain));
        }
        if (input.atMost === undefined || open.length <= input.atMost || Date.now() >= deadline) return open;
        context.heartbeat();
        await context.sleep(SITES_LOOK_EVERY_MS);
      }
    },
  };
}

export type FleetActivities = ReturnType<typeof createFleetActivities>;

/** A site a bounded fleet refresh enqueued (or found running), and when (workflow time, ms). */
export interface SiteInFlight {
  subdomain: string;
  enqueuedAtMs: number;
}

const MAX_WAIT_FOR_SITES_MS = 60_000;
/**
 * A look is one indexed query over at most the bound's sites. An unchanged site's run takes well
 * under a second, so looking once a second left room unused for half a second on average.
 */
const SITES_LOOK_EVERY_MS = 250;
/** A site is asked of Temporal once its run has had this long to record its end... */
export const ASK_TEMPORAL_AFTER_MS = 5_000;
/** ...and again at most this often. */
export const ASK_TEMPORAL_EVERY_MS = 10_000;

/**
 * When this worker last asked Temporal about each site. Most runs of a refresh record their end
 * within a second or two, so they are never asked at all: asking about every open site at the
 * start of each wait made a describe call per site per batch (3 or 4 per site of a refresh), a
 * large part of the server's work in a nightly refresh (issue 17's fleet benchmark).
 */
export class TemporalLookups {
  private readonly askedAt = new Map<string, number>();

  /** The sites open long enough, and not asked lately; marks them asked at `now`. */
  due(open: readonly SiteInFlight[], now: number): SiteInFlight[] {
    for (const [subdomain, at] of this.askedAt) if (now - at >= ASK_TEMPORAL_EVERY_MS) this.askedAt.delete(subdomain);
    const due = open.filter((site) => now - site.enqueuedAtMs >= ASK_TEMPORAL_AFTER_MS && !this.askedAt.has(site.subdomain));
    for (const site of due) this.askedAt.set(site.subdomain, now);
    return due;
  }
}

/**
 * The sites whose progress row does not record a run ending since they were enqueued. A clock on
 * another host that runs behind only keeps a site open until Temporal is asked.
 */
async function sitesWithoutRecordedEnd(db: Db, sites: SiteInFlight[]): Promise<SiteInFlight[]> {
  if (sites.length === 0) return sites;
  const rows = await db
    .selectFrom('site_progress')
    .select(['subdomain', 'finished_at'])
    .where('subdomain', 'in', sites.map((site) => site.subdomain))
    .where('current_stage', 'in', ['completed', 'failed', 'cancelled'])
    .where('finished_at', 'is not', null)
    .execute();
  const endedAt = new Map(rows.map((row) => [row.subdomain, row.finished_at!.getTime()]));
  return sites.filter((site) => (endedAt.get(site.subdomain) ?? -Infinity) < site.enqueuedAtMs);
}

/** The subdomains whose site workflow's latest run is open. */
async function openSiteRuns(client: Client, subdomains: string[]): Promise<string[]> {
  const open = await Promise.all(
    subdomains.map(async (subdomain) => {
      try {
        return (await client.workflow.getHandle(siteWorkflowId(subdomain)).describe()).status.name === 'RUNNING';
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return false;
        throw error;
      }
    }),
  );
  return subdomains.filter((_, i) => open[i]);
}

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
