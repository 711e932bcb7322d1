import { sql } from 'kysely';
import type { Db } from '../db/connect.js';
import type { SiteProgressRow, Stage } from '../db/schema.js';

/**
 * What `clerk status` shows of the whole fleet from Postgres: the sites in a run, the last runs
 * that ended, and how many sites are at each stage. Each section is one query, whatever the number
 * of sites, so the screen costs the same for ten sites as for ten thousand.
 */

/** The stages of a run still going: a site at one of these has work queued or in flight. */
export const activeStages: readonly Stage[] = ['queued', 'fetch', 'ocr', 'extraction', 'deploy'];

/**
 * One run that ended, newest first. `error` is the first line of the failure (null for a completed
 * or cancelled run).
 */
export interface EndedRun {
  subdomain: string;
  stage: 'completed' | 'failed' | 'cancelled';
  workflowId: string | null;
  runId: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  /** The stage the run failed in, when it failed. */
  errorStage: string | null;
  error: string | null;
}

export interface FleetProgress {
  /** Registered sites, and how many are at each stage ('never-run': registered, never enqueued). */
  sites: { registered: number; byStage: Record<string, number> };
  /** Every site in a run, by subdomain. */
  active: SiteProgressRow[];
  /** The last runs that ended without completing: failed, or cancelled by an operator. */
  lastFailed: EndedRun[];
  lastCompleted: EndedRun[];
}

export const DEFAULT_ENDED_RUNS = 5;

export async function readFleetProgress(db: Db, options: { endedRuns?: number } = {}): Promise<FleetProgress> {
  const limit = options.endedRuns ?? DEFAULT_ENDED_RUNS;
  // Independent reads: they go out together, on as many connections as the pool has.
  const [byStage, active, lastFailed, lastCompleted] = await Promise.all([
    sitesByStage(db),
    activeSites(db),
    endedRuns(db, ['failed', 'cancelled'], limit),
    endedRuns(db, ['completed'], limit),
  ]);
  const registered = Object.values(byStage).reduce((sum, count) => sum + count, 0);
  return { sites: { registered, byStage }, active, lastFailed, lastCompleted };
}

async function sitesByStage(db: Db): Promise<Record<string, number>> {
  const rows = await db
    .selectFrom('sites')
    .leftJoin('site_progress', 'site_progress.subdomain', 'sites.subdomain')
    .select([sql<string>`coalesce(site_progress.current_stage, 'never-run')`.as('stage'), (eb) => eb.fn.countAll<number>().as('count')])
    .groupBy(sql`coalesce(site_progress.current_stage, 'never-run')`)
    .execute();
  return Object.fromEntries(rows.map((row) => [row.stage, Number(row.count)]));
}

export async function activeSites(db: Db): Promise<SiteProgressRow[]> {
  return db.selectFrom('site_progress').selectAll().where('current_stage', 'in', [...activeStages]).orderBy('subdomain').execute();
}

async function endedRuns(db: Db, stages: EndedRun['stage'][], limit: number): Promise<EndedRun[]> {
  const rows = await db
    .selectFrom('site_progress')
    .innerJoin('sites', 'sites.subdomain', 'site_progress.subdomain')
    .select([
      'site_progress.subdomain',
      'site_progress.current_stage',
      'site_progress.workflow_id',
      'site_progress.run_id',
      'site_progress.started_at',
      'site_progress.finished_at',
      'sites.last_error_stage',
      'sites.last_error_message',
    ])
    .where('site_progress.current_stage', 'in', stages)
    .orderBy(sql`site_progress.finished_at desc nulls last`)
    .orderBy('site_progress.subdomain')
    .limit(limit)
    .execute();
  return rows.map((row) => ({
    subdomain: row.subdomain,
    stage: row.current_stage as EndedRun['stage'],
    workflowId: row.workflow_id,
    runId: row.run_id,
    startedAt: row.started_at?.toISOString() ?? null,
    finishedAt: row.finished_at?.toISOString() ?? null,
    // A completed or cancelled run leaves the site's last error as it was: it belongs to an older run.
    errorStage: row.current_stage === 'failed' ? row.last_error_stage : null,
    error: row.current_stage === 'failed' ? firstLine(row.last_error_message) : null,
  }));
}

function firstLine(text: string | null): string | null {
  const line = (text ?? '').split('\n', 1)[0]!.trim();
  return line === '' ? null : line;
}
