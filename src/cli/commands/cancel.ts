import { Command } from 'commander';
import type { Client } from '@temporalio/client';
import type { Db } from '../../db/connect.js';
import { countRunningJobs } from '../../progress/purge.js';
import { readProgress } from '../../progress/site-progress.js';
import { getSite } from '../../sites/repository.js';
import { parseSubdomain } from '../../sites/subdomain.js';
import { openSiteRun, requestCancellation, waitUntilClosed } from '../../temporal/control.js';
import { ExitCode, printJson, withClient, withDb } from '../context.js';

interface CancelOptions {
  wait: boolean;
  dryRun?: boolean;
  json?: boolean;
}

/** What is left of a site after its run stopped: the next run reads the pending pages and documents. */
export interface Leftover {
  total: number;
  done: number;
  failed: number;
  pending: number;
}

/** One site's cancellation. */
export interface Cancellation {
  subdomain: string;
  /**
   * cancelled: the run closed as cancelled; requested: asked, not waited for (--no-wait);
   * not-running: the site had no run to cancel; closed: the run ended another way first (workflowStatus says how);
   * would-cancel: --dry-run found this run running and left it alone.
   */
  outcome: 'cancelled' | 'requested' | 'not-running' | 'closed' | 'would-cancel';
  workflowId: string | null;
  runId: string | null;
  /** How the run closed (CANCELED, COMPLETED, FAILED...), when it was waited for. */
  workflowStatus: string | null;
  /** The site's stage in site_progress afterwards (`cancelled` once the run recorded its end). */
  stage: string | null;
  pages: Leftover | null;
  documents: Leftover | null;
}

export function cancelCommand(): Command {
  return new Command('cancel')
    .description("cancel sites' running runs gracefully: pages being read finish or stop at their next heartbeat, unread pages stay pending, and the run ends in stage cancelled; `clerk enqueue` later reads the rest")
    .argument('<subdomain...>', 'one or more sites, like alameda.ca')
    .option('--no-wait', 'only request the cancellation; do not wait for the runs to close')
    .option('--dry-run', 'print the runs that would be cancelled, and change nothing')
    .option('--json', 'print JSON')
    .action(async (subdomainArgs: string[], options: CancelOptions) => {
      // Validate every argument before cancelling anything.
      const subdomains = subdomainArgs.map((s) => parseSubdomain(s));
      const cancellations = await withDb(async (db) => {
        for (const subdomain of subdomains) await getSite(db, subdomain);
        return withClient((client) =>
          options.dryRun ? runsToCancel(client, db, subdomains, { print: !options.json }) : cancelSiteRuns(client, db, subdomains, { wait: options.wait, print: !options.json }),
        );
      });
      // Nothing is lost by a cancel (unread pages stay pending for the next run), so it does not ask first.
      if (options.json) printJson({ dryRun: options.dryRun ?? false, cancellations });
      if (cancellations.some((c) => c.outcome === 'closed')) process.exitCode = ExitCode.failed;
    });
}

/**
 * Requests every site's cancellation first, so the runs stop together, then (with `wait`) waits for
 * each to close and reads what it left from Postgres. Shared with `clerk purge-queue`.
 */
export async function cancelSiteRuns(client: Client, db: Db, subdomains: string[], options: { wait: boolean; print: boolean }): Promise<Cancellation[]> {
  const requests = [];
  for (const subdomain of subdomains) requests.push({ subdomain, request: await requestCancellation(client, subdomain) });
  // Every run is waited for at once; in a terminal, a bar per run shows its in-flight activities stopping meanwhile.
  const closing = new Map<string, Promise<string>>();
  for (const { subdomain, request } of requests) if (options.wait && request.state === 'requested') closing.set(subdomain, waitUntilClosed(client, request.run.workflowId));
  for (const closed of closing.values()) closed.catch(() => {}); // awaited below
  if (options.print && process.stderr.isTTY && closing.size > 0) await showStopping(db, closing);
  const cancellations: Cancellation[] = [];
  for (const { subdomain, request } of requests) {
    let cancellation: Cancellation;
    if (request.state === 'not-running') {
      cancellation = { subdomain, outcome: 'not-running', workflowId: null, runId: null, workflowStatus: null, ...(await leftover(db, subdomain)) };
    } else if (!options.wait) {
      cancellation = { subdomain, outcome: 'requested', ...request.run, workflowStatus: null, ...(await leftover(db, subdomain)) };
    } else {
      const workflowStatus = await closing.get(subdomain)!;
      const outcome = workflowStatus === 'CANCELLED' || workflowStatus === 'CANCELED' ? 'cancelled' : 'closed';
      cancellation = { subdomain, outcome, workflowId: request.run.workflowId, runId: request.run.runId, workflowStatus, ...(await leftover(db, subdomain)) };
    }
    if (options.print) printCancellation(cancellation);
    cancellations.push(cancellation);
  }
  return cancellations;
}

/**
 * Until every run in `closing` has closed, a bar per site on stderr: its activity attempts that were
 * running when the wait began and have stopped since (each at its next heartbeat), and its stage.
 * A long wait is a run whose pages are still being read: this shows them finishing.
 */
async function showStopping(db: Db, closing: Map<string, Promise<string>>): Promise<void> {
  const { default: cliProgress } = await import('cli-progress');
  const bars = new cliProgress.MultiBar(
    // Short enough for an 80-column terminal, where cli-progress cuts a longer line.
    { format: '{site} [{bar}] {value}/{total} activities stopped | {stage}', barsize: 20, hideCursor: true, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  const sites = await Promise.all(
    [...closing].map(async ([subdomain, closed]) => {
      const inFlight = await countRunningJobs(db, subdomain);
      const stage = (await readProgress(db, subdomain))?.current_stage ?? 'unknown';
      let done = false;
      void closed.finally(() => (done = true)).catch(() => {});
      return { subdomain, inFlight, done: () => done, bar: bars.create(Math.max(inFlight, 1), 0, { site: subdomain, stage }) };
    }),
  );
  try {
    for (;;) {
      for (const site of sites) {
        const stage = (await readProgress(db, site.subdomain))?.current_stage ?? 'unknown';
        const stopped = site.done() ? Math.max(site.inFlight, 1) : Math.max(0, site.inFlight - (await countRunningJobs(db, site.subdomain)));
        site.bar.update(stopped, { site: site.subdomain, stage });
      }
      if (sites.every((site) => site.done())) return;
      await Promise.race([Promise.allSettled(closing.values()), new Promise((resolve) => setTimeout(resolve, 1_000))]);
    }
  } finally {
    bars.stop();
  }
}

/** `--dry-run`: each site's running run, as `cancel` would find it, cancelling nothing. */
async function runsToCancel(client: Client, db: Db, subdomains: string[], options: { print: boolean }): Promise<Cancellation[]> {
  const cancellations: Cancellation[] = [];
  for (const subdomain of subdomains) {
    const run = await openSiteRun(client, subdomain);
    const cancellation: Cancellation = run
      ? { subdomain, outcome: 'would-cancel', workflowId: run.workflowId, runId: run.runId, workflowStatus: 'RUNNING', ...(await leftover(db, subdomain)) }
      : { subdomain, outcome: 'not-running', workflowId: null, runId: null, workflowStatus: null, ...(await leftover(db, subdomain)) };
    if (options.print) printCancellation(cancellation);
    cancellations.push(cancellation);
  }
  return cancellations;
}

async function leftover(db: Db, subdomain: string): Promise<Pick<Cancellation, 'stage' | 'pages' | 'documents'>> {
  const progress = await readProgress(db, subdomain);
  if (!progress) return { stage: null, pages: null, documents: null };
  const left = (total: number, done: number, failed: number): Leftover => ({ total, done, failed, pending: total - done - failed });
  return {
    stage: progress.current_stage,
    pages: left(progress.pages_total, progress.pages_done, progress.pages_failed),
    documents: left(progress.documents_total, progress.documents_done, progress.documents_failed),
  };
}

function printCancellation(c: Cancellation): void {
  const left = c.pages && c.documents ? `; pages: ${describe(c.pages)}; documents: ${describe(c.documents)}` : '';
  if (c.outcome === 'not-running') console.log(`${c.subdomain}: no run in progress; nothing to cancel${left}`);
  else if (c.outcome === 'would-cancel') console.log(`${c.subdomain}: would cancel run ${c.runId} (workflow ${c.workflowId}), now at ${c.stage ?? 'an unknown stage'}${left}`);
  else if (c.outcome === 'requested') console.log(`${c.subdomain}: cancellation requested (workflow ${c.workflowId}, run ${c.runId}); it stops once its in-flight pages have`);
  else if (c.outcome === 'cancelled') console.log(`${c.subdomain}: cancelled (run ${c.runId})${left}; \`clerk enqueue ${c.subdomain}\` reads the rest`);
  else console.log(`${c.subdomain}: the run ended ${c.workflowStatus?.toLowerCase()} before the cancellation took effect (run ${c.runId})${left}`);
}

function describe(counts: Leftover): string {
  return `${counts.done} done, ${counts.failed} failed, ${counts.pending} pending of ${counts.total}`;
}
