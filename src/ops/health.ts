/**
 * `clerk health`: can this clerk installation do its work right now? Each check reads one service
 * or resource and says ok, degraded (clerk works, but something needs a human) or down (clerk
 * cannot work). The services are handed in (a Temporal task-queue describer, a Postgres connector),
 * so this module knows nothing of how they are reached, and a test can hand in its own.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '../db/connect.js';
import { migrationStatus } from '../db/migrate.js';
import { checkSiteCounters } from '../progress/site-progress.js';
import type { TaskQueues } from '../workflows/types.js';

export type HealthStatus = 'ok' | 'degraded' | 'down';

export interface HealthCheck {
  /** Stable: `temporal`, `postgres`, `migrations`, `queue:<type>`, `stuck-sites`, `counters`, `folder:<storage|deploy>`. */
  name: string;
  status: HealthStatus;
  /** One sentence a human can act on. */
  message: string;
  details?: Record<string, unknown>;
}

export interface HealthReport {
  /** The worst status among the checks. */
  status: HealthStatus;
  checks: HealthCheck[];
  checkedAt: string;
}

export interface Poller {
  identity: string;
  lastAccessTime: string | null;
}

/** What health needs of a Temporal connection: the pollers on one task queue. */
export interface TaskQueueDescriber {
  pollers(taskQueue: string, kind: 'workflow' | 'activity'): Promise<Poller[]>;
  close(): Promise<void>;
}

export interface HealthInputs {
  temporal: {
    /** Said in messages: where Temporal was looked for. */
    where: string;
    /** Connects (and checks the namespace); throws a sentence when Temporal cannot be used. */
    connect(): Promise<TaskQueueDescriber>;
  };
  postgres: {
    where: string;
    /** Connects; throws when Postgres cannot be reached. The caller's Db is destroyed by health. */
    connect(): Promise<Db>;
  };
  queues: TaskQueues;
  folders: { name: string; path: string }[];
  /** Remote document stores (S3): `probe` writes and deletes an object, throwing when it cannot. */
  stores?: { name: string; where: string; probe(): Promise<void> }[];
  /** A site in a working stage (fetch, ocr, extraction, deploy) not updated for this long is stuck. */
  stuckAfterMs: number;
  minFreeBytes: number;
  now?: () => Date;
}

const severity: Record<HealthStatus, number> = { ok: 0, degraded: 1, down: 2 };

/** Exit code of `clerk health`, fixed by issue 18: 0 healthy, 1 degraded, 2 down. */
export function healthExitCode(status: HealthStatus): number {
  return severity[status];
}

export function worstStatus(statuses: readonly HealthStatus[]): HealthStatus {
  return statuses.reduce<HealthStatus>((worst, s) => (severity[s] > severity[worst] ? s : worst), 'ok');
}

/** Runs every check, Temporal's and Postgres's side by side, and never throws. */
export async function checkHealth(inputs: HealthInputs): Promise<HealthReport> {
  const now = inputs.now ?? (() => new Date());
  const [temporalChecks, postgresChecks, folderChecks, storeChecks] = await Promise.all([
    temporalHealth(inputs),
    postgresHealth(inputs, now()),
    Promise.all(inputs.folders.map((folder) => folderHealth(folder, inputs.minFreeBytes))),
    Promise.all((inputs.stores ?? []).map((store) => storeHealth(store))),
  ]);
  const checks = [...temporalChecks, ...postgresChecks, ...folderChecks, ...storeChecks];
  return { status: worstStatus(checks.map((c) => c.status)), checks, checkedAt: now().toISOString() };
}

async function temporalHealth(inputs: HealthInputs): Promise<HealthCheck[]> {
  const queueTypes = Object.keys(inputs.queues) as (keyof TaskQueues)[];
  let describer: TaskQueueDescriber;
  try {
    describer = await inputs.temporal.connect();
  } catch (error) {
    // Without Temporal no worker can poll either: every queue is down with it, and says why.
    return [
      { name: 'temporal', status: 'down', message: `cannot reach Temporal at ${inputs.temporal.where}: ${messageOf(error)}` },
      ...queueTypes.map((type) => ({
        name: `queue:${type}`,
        status: 'down' as const,
        message: `not checked: Temporal is unreachable`,
        details: { taskQueue: inputs.queues[type] },
      })),
    ];
  }
  try {
    const queueChecks = await Promise.all(queueTypes.map((type) => queueHealth(describer, type, inputs.queues[type])));
    return [{ name: 'temporal', status: 'ok', message: `reachable at ${inputs.temporal.where}` }, ...queueChecks];
  } finally {
    await describer.close().catch(() => {});
  }
}

async function queueHealth(describer: TaskQueueDescriber, type: keyof TaskQueues, taskQueue: string): Promise<HealthCheck> {
  const name = `queue:${type}`;
  // The workflows queue carries workflow tasks; every other queue carries only activities.
  const kind = type === 'workflows' ? 'workflow' : 'activity';
  let pollers: Poller[];
  try {
    pollers = await describer.pollers(taskQueue, kind);
  } catch (error) {
    return { name, status: 'down', message: `cannot describe task queue ${taskQueue}: ${messageOf(error)}`, details: { taskQueue } };
  }
  if (pollers.length === 0) {
    return {
      name,
      status: 'degraded',
      message: `no worker polls task queue ${taskQueue}: start one with \`clerk worker ${type}\``,
      details: { taskQueue, pollers: [] },
    };
  }
  return { name, status: 'ok', message: `${pollers.length} poller(s) on ${taskQueue}`, details: { taskQueue, pollers } };
}

async function postgresHealth(inputs: HealthInputs, now: Date): Promise<HealthCheck[]> {
  let db: Db;
  try {
    db = await inputs.postgres.connect();
  } catch (error) {
    const why = `not checked: Postgres is unreachable`;
    return [
      { name: 'postgres', status: 'down', message: `cannot reach Postgres at ${inputs.postgres.where}: ${messageOf(error)}` },
      { name: 'migrations', status: 'down', message: why },
      { name: 'stuck-sites', status: 'down', message: why },
      { name: 'counters', status: 'down', message: why },
    ];
  }
  try {
    return [
      { name: 'postgres', status: 'ok', message: `reachable at ${inputs.postgres.where}` },
      await migrationsHealth(db),
      await stuckSitesHealth(db, now, inputs.stuckAfterMs),
      await countersHealth(db),
    ];
  } finally {
    await db.destroy().catch(() => {});
  }
}

async function migrationsHealth(db: Db): Promise<HealthCheck> {
  try {
    const all = await migrationStatus(db);
    const pending = all.filter((m) => m.executedAt === undefined).map((m) => m.name);
    if (pending.length > 0) {
      return {
        name: 'migrations',
        status: 'degraded',
        message: `${pending.length} migration(s) not applied (${pending.join(', ')}): run \`clerk db migrate\``,
        details: { pending, applied: all.length - pending.length },
      };
    }
    return { name: 'migrations', status: 'ok', message: `all ${all.length} migrations applied`, details: { pending: [], applied: all.length } };
  } catch (error) {
    return { name: 'migrations', status: 'down', message: `cannot read the migrations: ${messageOf(error)}` };
  }
}

async function stuckSitesHealth(db: Db, now: Date, stuckAfterMs: number): Promise<HealthCheck> {
  const threshold = formatDuration(stuckAfterMs);
  try {
    // queued sites wait for a worker (the queue checks cover that); completed, failed and cancelled ones are at rest.
    const rows = await db
      .selectFrom('site_progress')
      .select(['subdomain', 'current_stage', 'updated_at', 'workflow_id'])
      .where('current_stage', 'not in', ['completed', 'failed', 'cancelled', 'queued'])
      .where('updated_at', '<', new Date(now.getTime() - stuckAfterMs))
      .orderBy('updated_at')
      .execute();
    if (rows.length === 0) return { name: 'stuck-sites', status: 'ok', message: `no site has been in a stage without progress for over ${threshold}`, details: { sites: [] } };
    const sites = rows.map((r) => ({ subdomain: r.subdomain, stage: r.current_stage, updatedAt: r.updated_at.toISOString(), workflowId: r.workflow_id }));
    const listed = sites.map((s) => `${s.subdomain} (${s.stage} since ${s.updatedAt})`).join(', ');
    return {
      name: 'stuck-sites',
      status: 'degraded',
      message: `${sites.length} site(s) without progress for over ${threshold}: ${listed}; check \`clerk status <site>\` and its workers`,
      details: { sites },
    };
  } catch (error) {
    return { name: 'stuck-sites', status: 'down', message: `cannot read site_progress: ${messageOf(error)}` };
  }
}

async function storeHealth(store: { name: string; where: string; probe(): Promise<void> }): Promise<HealthCheck> {
  const name = `store:${store.name}`;
  try {
    await store.probe();
  } catch (error) {
    return { name, status: 'down', message: `${store.name} store ${store.where} is not writable: ${messageOf(error)}`, details: { where: store.where } };
  }
  return { name, status: 'ok', message: `${store.name} store ${store.where} is writable`, details: { where: store.where } };
}

/**
 * Writable means clerk can create the folder (as it would on first use), and create and remove a
 * file in it. Free space is what an unprivileged process may use (bavail, not bfree).
 */
async function folderHealth(folder: { name: string; path: string }, minFreeBytes: number): Promise<HealthCheck> {
  const name = `folder:${folder.name}`;
  const probe = path.join(folder.path, `.clerk-health-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await fs.mkdir(folder.path, { recursive: true });
    await fs.writeFile(probe, 'clerk health\n', { flag: 'wx' });
    await fs.rm(probe);
  } catch (error) {
    await fs.rm(probe, { force: true }).catch(() => {});
    return { name, status: 'down', message: `${folder.name} folder ${folder.path} is not writable: ${messageOf(error)}`, details: { path: folder.path } };
  }
  let freeBytes: number;
  try {
    const stats = await fs.statfs(folder.path);
    freeBytes = stats.bavail * stats.bsize;
  } catch (error) {
    return { name, status: 'degraded', message: `cannot read free space of ${folder.path}: ${messageOf(error)}`, details: { path: folder.path } };
  }
  const details = { path: folder.path, freeBytes, minFreeBytes };
  if (freeBytes < minFreeBytes) {
    return { name, status: 'degraded', message: `${folder.name} folder ${folder.path} has ${formatBytes(freeBytes)} free, under the ${formatBytes(minFreeBytes)} minimum`, details };
  }
  return { name, status: 'ok', message: `${folder.name} folder ${folder.path} is writable, ${formatBytes(freeBytes)} free`, details };
}

const units: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `30m`, `6h`, `2d` (or a bare number of seconds) in milliseconds; undefined if unreadable. */
export function parseDuration(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!match) return undefined;
  const value = Number(match[1]) * units[match[2] ?? 's']!;
  return value > 0 ? value : undefined;
}

export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms >= units[unit]! && ms % units[unit]! === 0) return `${ms / units[unit]!}${unit}`;
  }
  return `${ms}ms`;
}

function formatBytes(bytes: number): string {
  const gb = bytes / 1024 ** 3;
  return gb >= 1 ? `${gb.toFixed(1)} GB` : `${(bytes / 1024 ** 2).toFixed(0)} MB`;
}

/** Sites in a run whose counters are compared with a recount, the most recently active first. */
const COUNTER_CHECK_SITES = 100;

/**
 * The counters move by delta with every page and document change (src/progress/site-progress.ts):
 * this proves they still equal a count of the tables, for the sites in a run, where a drift would
 * show in `clerk status` now. Each site is compared in one snapshot, so a run going on is no false
 * alarm; sites at rest are left out, since counting every page of a large fleet at each health
 * check would cost more than the check is worth, and each run recounts its site when it starts.
 */
async function countersHealth(db: Db): Promise<HealthCheck> {
  try {
    const active = await db
      .selectFrom('site_progress')
      .select('subdomain')
      .where('current_stage', 'not in', ['completed', 'failed', 'cancelled', 'queued'])
      .orderBy('updated_at', 'desc')
      .limit(COUNTER_CHECK_SITES)
      .execute();
    const drifted: { subdomain: string; stored: unknown; counted: unknown }[] = [];
    for (const { subdomain } of active) {
      const result = await checkSiteCounters(db, subdomain);
      if (!result.matches) drifted.push({ subdomain, stored: result.stored, counted: result.counted });
    }
    if (drifted.length === 0) {
      return { name: 'counters', status: 'ok', message: `the counters of ${active.length} site(s) in a run equal a count of their pages and documents`, details: { checked: active.length, drifted: [] } };
    }
    return {
      name: 'counters',
      status: 'degraded',
      message: `${drifted.length} site(s) with counters that differ from a count of their pages and documents: ${drifted.map((d) => d.subdomain).join(', ')}; the next run of each recounts them (a table edited by hand, or a bug to report)`,
      details: { checked: active.length, drifted },
    };
  } catch (error) {
    return { name: 'counters', status: 'down', message: `cannot compare the counters: ${messageOf(error)}` };
  }
}

function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0]!.trim();
}
