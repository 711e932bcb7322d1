import { ScheduleAlreadyRunning, ScheduleNotFoundError, ServiceError, type Client, type ScheduleDescription, type ScheduleHandle } from '@temporalio/client';
import type { ClerkConfig } from '../config/index.js';
import { fleetRefreshWorkflow, type FleetRefreshInput } from '../workflows/fleet.js';
import { taskQueuesWithPrefix } from '../workflows/types.js';

/** Clerk's schedules are Temporal schedules with ids `clerk/<name>`; others are not listed. */
export const SCHEDULE_ID_PREFIX = 'clerk/';
/** What `clerk dev up` creates if missing. */
/**
 * Sites of one refresh in a run at once: enough to keep every worker busy with small unchanged sites
 * (most of a nightly fleet), few enough that a thousand sites never start together (issue 17's
 * fleet benchmark, docs/BENCHMARKS.md, measured the refresh with it).
 */
export const DEFAULT_MAX_SITES_IN_FLIGHT = 50;

export const DEFAULT_SCHEDULE = { name: 'nightly-refresh', cron: '0 2 * * *', spreadMs: 4 * 3_600_000, maxSitesInFlight: DEFAULT_MAX_SITES_IN_FLIGHT } as const;
/** A refresh that could not start on time (server down) still starts within this window, else it waits for the next one. */
export const CATCHUP_WINDOW = '1 hour';

export class UnknownScheduleError extends Error {
  override name = 'UnknownScheduleError';
}
export class ScheduleRequestError extends Error {
  override name = 'ScheduleRequestError';
}

export function scheduleId(name: string): string {
  if (!/^[a-z0-9][a-z0-9._-]{0,62}$/.test(name)) {
    throw new ScheduleRequestError(`"${name}" is not a schedule name: use lowercase letters, digits, '.', '_' and '-' (at most 63)`);
  }
  return `${SCHEDULE_ID_PREFIX}${name}`;
}

export interface ScheduleSettings {
  name: string;
  /** A cron expression, evaluated in UTC (`0 2 * * *`: 02:00 UTC every day). */
  cron: string;
  /** The refresh enqueues its sites evenly over this many milliseconds. */
  spreadMs: number;
  note?: string;
  /** Sites per batch (fleetRefreshWorkflow's default when absent). */
  batchSize?: number;
  /** The refresh's sites in a run at once (DEFAULT_MAX_SITES_IN_FLIGHT when absent). */
  maxSitesInFlight?: number;
  /** Created paused. */
  paused?: boolean;
}

/** What `list` and `describe` show of a schedule. */
export interface ScheduleView {
  name: string;
  scheduleId: string;
  cron: string | null;
  spreadMs: number | null;
  /** Null for schedules created before refreshes were bounded (they enqueue on the spread alone). */
  maxSitesInFlight: number | null;
  paused: boolean;
  note: string | null;
  nextRuns: string[];
  recentActions: { scheduledAt: string; takenAt: string; workflowId: string; runId: string }[];
  /** Describe only: */
  runningWorkflows?: { workflowId: string; runId: string }[];
  overlap?: string;
  catchupWindowMs?: number;
  actionsTaken?: number;
  skippedOverlap?: number;
  createdAt?: string;
}

/** Creates the schedule; a schedule of that name already existing is a ScheduleRequestError. */
export async function createSchedule(client: Client, config: ClerkConfig, settings: ScheduleSettings): Promise<ScheduleView> {
  const id = scheduleId(settings.name);
  if (!Number.isFinite(settings.spreadMs) || settings.spreadMs < 0) throw new ScheduleRequestError('the spread must be 0 or more');
  const queues = taskQueuesWithPrefix(config.temporal.taskQueuePrefix);
  const maxSitesInFlight = settings.maxSitesInFlight ?? DEFAULT_MAX_SITES_IN_FLIGHT;
  if (!Number.isInteger(maxSitesInFlight) || maxSitesInFlight < 1) throw new ScheduleRequestError('the sites in flight must be a whole number, 1 or more');
  const input: FleetRefreshInput = { queues, spreadMs: settings.spreadMs, maxSitesInFlight, ...(settings.batchSize ? { batchSize: settings.batchSize } : {}) };
  try {
    await client.schedule.create({
      scheduleId: id,
      spec: { cronExpressions: [settings.cron] },
      action: {
        type: 'startWorkflow',
        workflowType: fleetRefreshWorkflow,
        // Temporal appends the scheduled time to the id of each run.
        workflowId: `fleet/${settings.name}`,
        taskQueue: queues.workflows,
        args: [input],
      },
      // A refresh still enqueueing when the next one is due is left to finish; the next is skipped.
      policies: { overlap: 'SKIP', catchupWindow: CATCHUP_WINDOW },
      // The cron as given: a description returns it only as parsed calendar specs.
      memo: { cron: settings.cron, spreadMs: settings.spreadMs, maxSitesInFlight },
      state: { paused: settings.paused ?? false, ...(settings.note ? { note: settings.note } : {}) },
    });
  } catch (error) {
    if (error instanceof ScheduleAlreadyRunning) throw new ScheduleRequestError(`schedule ${settings.name} already exists (${id}); delete it first to change it`);
    throw asRequestError(error, true);
  }
  return describeSchedule(client, settings.name);
}

/** Creates the schedule unless one of that name exists; true when it created it. */
export async function ensureSchedule(client: Client, config: ClerkConfig, settings: ScheduleSettings): Promise<boolean> {
  try {
    await client.schedule.getHandle(scheduleId(settings.name)).describe();
    return false;
  } catch (error) {
    if (!(error instanceof ScheduleNotFoundError)) throw error;
  }
  try {
    await createSchedule(client, config, settings);
    return true;
  } catch (error) {
    // Created meanwhile by another `clerk dev up`.
    if (error instanceof ScheduleRequestError && /already exists/.test(error.message)) return false;
    throw error;
  }
}

/** Clerk's schedules (ids `clerk/...`), by name. Listing reads Temporal's visibility store, which lags a create by a moment. */
export async function listSchedules(client: Client): Promise<ScheduleView[]> {
  const views: ScheduleView[] = [];
  for await (const summary of client.schedule.list()) {
    if (!summary.scheduleId.startsWith(SCHEDULE_ID_PREFIX)) continue;
    views.push(listedView(summary.scheduleId.slice(SCHEDULE_ID_PREFIX.length), summary));
  }
  return views.sort((a, b) => a.name.localeCompare(b.name));
}

export async function describeSchedule(client: Client, name: string): Promise<ScheduleView> {
  const description = await withSchedule(client, name, (handle) => handle.describe());
  return describedView(name, description);
}

export async function pauseSchedule(client: Client, name: string, note?: string): Promise<void> {
  await withSchedule(client, name, (handle) => handle.pause(note ?? 'paused with clerk schedule pause'));
}

export async function unpauseSchedule(client: Client, name: string, note?: string): Promise<void> {
  await withSchedule(client, name, (handle) => handle.unpause(note ?? 'unpaused with clerk schedule unpause'));
}

/** Runs the schedule's action now; skipped, like a scheduled run, while its last refresh is still running. */
export async function triggerSchedule(client: Client, name: string): Promise<void> {
  await withSchedule(client, name, (handle) => handle.trigger('SKIP'));
}

/** Deletes the schedule; refreshes it already started keep running. */
export async function deleteSchedule(client: Client, name: string): Promise<void> {
  await withSchedule(client, name, (handle) => handle.delete());
}

async function withSchedule<T>(client: Client, name: string, work: (handle: ScheduleHandle) => Promise<T>): Promise<T> {
  const id = scheduleId(name);
  try {
    return await work(client.schedule.getHandle(id));
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) throw new UnknownScheduleError(`no schedule named ${name} (${id}); \`clerk schedule list\` shows them`);
    throw asRequestError(error);
  }
}

/**
 * The server's INVALID_ARGUMENT is the caller's mistake: an invalid spec (a cron it cannot read) the
 * client rethrows as a TypeError, anything else as a ServiceError over the gRPC error.
 */
function asRequestError(error: unknown, creating = false): unknown {
  if (creating && error instanceof TypeError) return new ScheduleRequestError(`invalid schedule: ${error.message}`);
  const cause = error instanceof ServiceError ? (error.cause as { code?: number; details?: string } | undefined) : undefined;
  if (cause?.code === 3) return new ScheduleRequestError(`invalid schedule: ${cause.details ?? (error as Error).message}`);
  return error;
}

/** What `schedule list` shows of a schedule, from its list entry or its full description alike. */
function listedView(name: string, d: Pick<ScheduleDescription, 'scheduleId' | 'memo' | 'state'> & { info: Pick<ScheduleDescription['info'], 'nextActionTimes' | 'recentActions'> }): ScheduleView {
  return {
    name,
    scheduleId: d.scheduleId,
    cron: typeof d.memo?.cron === 'string' ? d.memo.cron : null,
    spreadMs: typeof d.memo?.spreadMs === 'number' ? d.memo.spreadMs : null,
    maxSitesInFlight: typeof d.memo?.maxSitesInFlight === 'number' ? d.memo.maxSitesInFlight : null,
    paused: d.state.paused,
    note: d.state.note || null,
    nextRuns: d.info.nextActionTimes.map((t) => t.toISOString()),
    recentActions: d.info.recentActions.map(actionView),
  };
}

function describedView(name: string, d: ScheduleDescription): ScheduleView {
  return {
    ...listedView(name, d),
    runningWorkflows: d.info.runningActions.map((a) => ({ workflowId: a.workflow.workflowId, runId: a.workflow.firstExecutionRunId })),
    overlap: d.policies.overlap,
    catchupWindowMs: d.policies.catchupWindow,
    actionsTaken: d.info.numActionsTaken,
    skippedOverlap: d.info.numActionsSkippedOverlap,
    createdAt: d.info.createdAt.toISOString(),
  };
}

function actionView(result: { scheduledAt: Date; takenAt: Date; action: { workflow: { workflowId: string; firstExecutionRunId: string } } }) {
  return {
    scheduledAt: result.scheduledAt.toISOString(),
    takenAt: result.takenAt.toISOString(),
    workflowId: result.action.workflow.workflowId,
    runId: result.action.workflow.firstExecutionRunId,
  };
}
