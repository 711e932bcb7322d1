import { allHandlersFinished, condition, continueAsNew, defineQuery, proxyActivities, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { FleetActivities, SiteInFlight } from '../activities/fleet.js';
import type { TaskQueues } from './types.js';

export interface FleetRefreshCounts {
  /** Sites the refresh found registered (oldest last successful run first). */
  sites: number;
  /** Site runs it started. */
  started: number;
  /** Sites that already had a run open, left alone. */
  alreadyRunning: number;
  /** Sites whose enqueue failed (a site removed since the listing, say). */
  failed: number;
}

export interface FleetRefreshInput {
  queues: TaskQueues;
  /** Batches are started evenly over this many milliseconds from the refresh's start (0: all at once). */
  spreadMs: number;
  /** Sites enqueued per activity (default 10); a timer separates consecutive batches. */
  batchSize?: number;
  /**
   * At most this many of the refresh's sites in a run at once: a batch waits until enough of them
   * have closed, and the refresh ends when its last site run does. Absent in refreshes started
   * before it existed (and in schedules created then), which enqueue on the spread alone and end
   * with their last batch.
   */
  maxSitesInFlight?: number;
  /** What the site runs are enqueued with (absent: low, below an operator's `clerk enqueue`). */
  priority?: 'high' | 'normal' | 'low';
  /** Set by continue-as-new only: where the previous run stopped. */
  resume?: {
    /** Every site, in order, as listed when the refresh began. */
    subdomains: string[];
    /** The next batch to enqueue. */
    nextBatch: number;
    /** Workflow time (ms since epoch) of the refresh's first batch, which the offsets are relative to. */
    startedAtMs: number;
    counts: FleetRefreshCounts;
    /** With maxSitesInFlight: the refresh's sites that were still in a run. */
    inFlight?: SiteInFlight[];
  };
}

/** What `clerk enqueue --all --wait` shows while a refresh runs. */
export interface FleetRefreshProgress extends FleetRefreshCounts {
  /** Sites enqueued (started or found running) so far. */
  enqueued: number;
  /** With maxSitesInFlight: the refresh's sites in a run now (as last looked up). */
  inFlight: number | null;
  done: boolean;
}

export const fleetProgressQuery = defineQuery<FleetRefreshProgress>('fleetProgress');

const DEFAULT_BATCH_SIZE = 10;
/** How long one look for closed site runs may wait for them (the activity's own limit is a minute). */
const WAIT_FOR_ROOM_MS = 60_000;
/** Well under Temporal's 50k-event limit: about 11 events per batch, so ~180 batches per run. */
const CONTINUE_AS_NEW_AFTER_EVENTS = 2_000;

/**
 * The nightly refresh a schedule starts: lists every site, oldest last successful run first (never
 * run first), and enqueues them in batches spread evenly over `spreadMs`, a timer between batches,
 * so a thousand sites never start in the same second. A site with a run open is left alone
 * (enqueueSite returns the running run). Long fleets continue as new between batches. With
 * `maxSitesInFlight` (`clerk enqueue --all`, and schedules created since) a batch also waits until
 * few enough of the refresh's sites are still in a run, so a thousand quick runs never flood the
 * server and Postgres at once, and the refresh ends when its last site run has.
 */
export async function fleetRefreshWorkflow(input: FleetRefreshInput): Promise<FleetRefreshCounts> {
  const fleet = proxyActivities<FleetActivities>({
    taskQueue: input.queues.workflows,
    startToCloseTimeout: '5 minutes',
    // sitesStillRunning waits up to a minute, heartbeating as it looks.
    heartbeatTimeout: '30 seconds',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
  });
  const bound = input.maxSitesInFlight === undefined ? null : Math.max(1, Math.floor(input.maxSitesInFlight));
  // A bounded refresh's batch is at most a quarter of the bound, so a batch starts as soon as a
  // quarter of the sites in a run have closed, and the rest keep the workers busy meanwhile.
  const batchSize = Math.max(1, Math.min(Math.floor(input.batchSize ?? DEFAULT_BATCH_SIZE), bound === null ? Infinity : Math.floor(bound / 4)));
  const subdomains = input.resume?.subdomains ?? (await fleet.listSitesOldestFirst({}));
  const counts: FleetRefreshCounts = input.resume?.counts ?? { sites: subdomains.length, started: 0, alreadyRunning: 0, failed: 0 };
  const startedAtMs = input.resume?.startedAtMs ?? Date.now();
  const batches = Math.ceil(subdomains.length / batchSize);
  const intervalMs = batches > 1 ? Math.floor(Math.max(0, input.spreadMs) / batches) : 0;
  let inFlight: SiteInFlight[] = input.resume?.inFlight ?? [];
  let nextBatch = input.resume?.nextBatch ?? 0;
  let done = false;
  setHandler(fleetProgressQuery, () => ({
    ...counts,
    enqueued: counts.started + counts.alreadyRunning,
    inFlight: bound === null ? null : inFlight.length,
    done,
  }));

  const continueIfLong = async (): Promise<void> => {
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength >= CONTINUE_AS_NEW_AFTER_EVENTS) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof fleetRefreshWorkflow>({
        ...input,
        resume: { subdomains, nextBatch, startedAtMs, counts, ...(bound === null ? {} : { inFlight }) },
      });
    }
  };

  /**
   * Waits until at most `limit` of the refresh's sites are in a run. The activity does the looking
   * (up to a minute per call), so a long wait costs the history one activity a minute.
   */
  const waitForRoom = async (limit: number): Promise<void> => {
    while (inFlight.length > limit) {
      inFlight = await fleet.sitesStillRunning({ sites: inFlight, atMost: limit, waitMs: WAIT_FOR_ROOM_MS });
      await continueIfLong();
    }
  };

  for (; nextBatch < batches; nextBatch++) {
    const batch = nextBatch;
    if (batch > 0) await continueIfLong();
    // On the even grid from the refresh's start; a batch that ran late still leaves half an
    // interval before the next, so late batches never bunch up.
    const waitMs = batch === 0 ? 0 : Math.max(startedAtMs + batch * intervalMs - Date.now(), Math.floor(intervalMs / 2));
    if (waitMs > 0) await sleep(waitMs);
    const sites = subdomains.slice(batch * batchSize, (batch + 1) * batchSize);
    if (bound !== null) await waitForRoom(Math.max(0, bound - sites.length));
    // Before the enqueue: a run that ends while the batch is still being enqueued ends after this.
    const enqueuedAtMs = Date.now();
    const outcome = await fleet.enqueueSiteBatch({ subdomains: sites, ...(input.priority ? { priority: input.priority } : {}) });
    counts.started += outcome.started;
    counts.alreadyRunning += outcome.alreadyRunning;
    counts.failed += outcome.failed;
    if (bound !== null) {
      inFlight.push(...(outcome.running ?? []).map((subdomain) => ({ subdomain, enqueuedAtMs })));
    }
  }
  // A bounded refresh ends with its sites' runs, so its own end is the fleet's.
  if (bound !== null) await waitForRoom(0);
  done = true;
  return counts;
}
