import { allHandlersFinished, condition, continueAsNew, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { FleetActivities } from '../activities/fleet.js';
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
  /** Set by continue-as-new only: where the previous run stopped. */
  resume?: {
    /** Every site, in order, as listed when the refresh began. */
    subdomains: string[];
    /** The next batch to enqueue. */
    nextBatch: number;
    /** Workflow time (ms since epoch) of the refresh's first batch, which the offsets are relative to. */
    startedAtMs: number;
    counts: FleetRefreshCounts;
  };
}

const DEFAULT_BATCH_SIZE = 10;
/** Well under Temporal's 50k-event limit: about 11 events per batch, so ~180 batches per run. */
const CONTINUE_AS_NEW_AFTER_EVENTS = 2_000;

/**
 * The nightly refresh a schedule starts: lists every site, oldest last successful run first (never
 * run first), and enqueues them in batches spread evenly over `spreadMs`, a timer between batches,
 * so a thousand sites never start in the same second. A site with a run open is left alone
 * (enqueueSite returns the running run). Long fleets continue as new between batches.
 */
export async function fleetRefreshWorkflow(input: FleetRefreshInput): Promise<FleetRefreshCounts> {
  const fleet = proxyActivities<FleetActivities>({
    taskQueue: input.queues.workflows,
    startToCloseTimeout: '5 minutes',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
  });
  const batchSize = Math.max(1, Math.floor(input.batchSize ?? DEFAULT_BATCH_SIZE));
  const subdomains = input.resume?.subdomains ?? (await fleet.listSitesOldestFirst({}));
  const counts: FleetRefreshCounts = input.resume?.counts ?? { sites: subdomains.length, started: 0, alreadyRunning: 0, failed: 0 };
  const startedAtMs = input.resume?.startedAtMs ?? Date.now();
  const batches = Math.ceil(subdomains.length / batchSize);
  const intervalMs = batches > 1 ? Math.floor(Math.max(0, input.spreadMs) / batches) : 0;

  for (let batch = input.resume?.nextBatch ?? 0; batch < batches; batch++) {
    const info = workflowInfo();
    if (batch > 0 && (info.continueAsNewSuggested || info.historyLength >= CONTINUE_AS_NEW_AFTER_EVENTS)) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof fleetRefreshWorkflow>({ ...input, resume: { subdomains, nextBatch: batch, startedAtMs, counts } });
    }
    // On the even grid from the refresh's start; a batch that ran late still leaves half an
    // interval before the next, so late batches never bunch up.
    const waitMs = batch === 0 ? 0 : Math.max(startedAtMs + batch * intervalMs - Date.now(), Math.floor(intervalMs / 2));
    if (waitMs > 0) await sleep(waitMs);
    const outcome = await fleet.enqueueSiteBatch({ subdomains: subdomains.slice(batch * batchSize, (batch + 1) * batchSize) });
    counts.started += outcome.started;
    counts.alreadyRunning += outcome.alreadyRunning;
    counts.failed += outcome.failed;
  }
  return counts;
}
