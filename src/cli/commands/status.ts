import { Command, InvalidArgumentError } from 'commander';
import type cliProgressModule from 'cli-progress';
import type { Client } from '@temporalio/client';
import type { Db } from '../../db/connect.js';
import { listFailures, type FailureExample, type FailureGroup, type FailureTotals } from '../../progress/failures.js';
import { parseSubdomain } from '../../sites/subdomain.js';
import type { SiteRunReader } from '../../temporal/site-runs.js';
import { failureUiUrls } from '../../temporal/web-ui.js';
import type { TaskQueueReport } from '../../temporal/task-queues.js';
import type { ClerkConfig } from '../../config/index.js';
import { config, ExitCode, printJson, withClient, withDb } from '../context.js';
import { fleetReport, siteReportFrom, type FleetReport, type SiteReport } from '../site-report.js';

/** `clerk status <site>`: the site's report, its failures grouped by reason, and the Web UI links. */
export interface SiteStatusReport extends SiteReport {
  failures: { groups: (FailureGroup & { examples: LinkedFailureExample[] })[]; totals: FailureTotals };
}

type LinkedFailureExample = FailureExample & { webUi: string | null; documentWebUi: string | null };

/** Examples kept per failure group: the summary says what failed; `clerk failures` lists more. */
const FAILURE_EXAMPLES = 1;

interface StatusOptions {
  json?: boolean;
  watch?: boolean;
  interval: number;
}

export function statusCommand(): Command {
  return new Command('status')
    .description("show a site's run (stage, counts, failures, Web UI links), or the fleet: task queues, sites in a run, the last runs that ended")
    .argument('[subdomain]', 'one site; omit for the fleet')
    .option('--watch', 'redraw until the runs end; for a site, exit when its run closes (exit code 1 unless it completed)')
    .option('--interval <seconds>', 'seconds between redraws with --watch', secondsFlag, 2)
    .option('--json', 'print JSON (with --watch, one JSON object per line at each redraw)')
    .action(async (subdomainArg: string | undefined, options: StatusOptions) => {
      if (subdomainArg === undefined) return fleetStatus(options);
      return siteStatus(parseSubdomain(subdomainArg), options);
    });
}

async function fleetStatus(options: StatusOptions): Promise<void> {
  await withDb((db) =>
    withOptionalClient(async (client, temporalError) => {
      const read = () => fleetReport(db, config(), client, temporalError);
      if (!options.watch) {
        const report = await read();
        return options.json ? printJson(report) : printFleet(report);
      }
      const screen = options.json ? undefined : new FleetBars(await loadCliProgress());
      try {
        for (;;) {
          const report = await read();
          if (options.json) printJsonLine(report);
          else if (screen) screen.draw(report);
          // Redraws until no site is in a run: every run the screen showed has ended.
          if (report.active.length === 0) return screen?.stop(report);
          await sleep(options.interval);
        }
      } catch (error) {
        screen?.stop();
        throw error;
      }
    }),
  );
}

async function siteStatus(subdomain: string, options: StatusOptions): Promise<void> {
  // The site's run is read with two calls made directly (site-status-rpc.ts), not through the SDK's
  // client, whose loading alone took most of a `clerk status <site>`. The connection is started
  // here, so Temporal is reached while Postgres answers the first queries, and closed however the command ends.
  const siteRuns = import('../../temporal/site-status-rpc.js').then(({ openSiteRuns }) => openSiteRuns(config()));
  siteRuns.catch(() => {}); // awaited below, where a failure is reported
  let final: SiteStatusReport;
  try {
    final = await withDb(
      async (db) => {
        // The first report is asked for at once, while the site's registration is checked, so
        // Temporal's answers come in while Postgres answers; an unregistered site is still reported
        // as such, and its report, if any, dropped.
        const runs = siteRuns.then((pending) => pending.connected());
        const firstReport = runs.then((connected) => siteStatusReport(connected, db, config(), subdomain));
        firstReport.catch(() => {}); // awaited below, once the site is known
        await requireSite(db, subdomain);
        if (!options.watch) return firstReport;
        const bar = options.json || !process.stderr.isTTY ? undefined : new SiteBar(await loadCliProgress());
        try {
          for (let redraw = 0; ; redraw++) {
            const report = redraw === 0 ? await firstReport : await siteStatusReport(await runs, db, config(), subdomain);
            if (options.json) printJsonLine(report);
            else if (bar) bar.draw(report);
            else console.log(watchLine(report));
            if (report.workflowStatus !== 'RUNNING') return report;
            await sleep(options.interval);
          }
        } finally {
          bar?.stop();
        }
      },
      // Its queries are small and few: one connection answers them sooner than two are made.
      { connections: 1 },
    );
  } finally {
    await (await siteRuns.catch(() => undefined))?.close();
  }
  if (options.watch) {
    if (!options.json) printSite(final);
    // How the run ended: 0 when it completed (or there is none), 1 when it failed, was cancelled, terminated or timed out.
    process.exitCode = final.workflowStatus === null || final.workflowStatus === 'COMPLETED' ? ExitCode.ok : ExitCode.failed;
    return;
  }
  if (options.json) printJson(final);
  else printSite(final);
}

export async function siteStatusReport(runs: SiteRunReader, db: Db, cfg: ClerkConfig, subdomain: string): Promise<SiteStatusReport> {
  const [report, failures] = await Promise.all([siteReportFrom(runs, db, cfg, subdomain), listFailures(db, { subdomain, examples: FAILURE_EXAMPLES })]);
  const groups = failures.groups.map((group) => ({ ...group, examples: group.examples.map((example) => ({ ...example, ...failureUiUrls(cfg, group.kind, example) })) }));
  return { ...report, failures: { groups, totals: failures.totals } };
}

/**
 * The site must be registered. Checked with one query; the repository (and the fetchers it loads)
 * is imported only to raise its own error, so `clerk status` does not load every fetcher.
 */
async function requireSite(db: Db, subdomain: string): Promise<void> {
  const site = await db.selectFrom('sites').select('subdomain').where('subdomain', '=', subdomain).executeTakeFirst();
  if (site) return;
  const { UnknownSiteError } = await import('../../sites/repository.js');
  throw new UnknownSiteError(subdomain);
}

/** The fleet screen works without Temporal: the queues are then missing, and the screen says why. */
async function withOptionalClient<T>(work: (client: Client | null, error: string | null) => Promise<T>): Promise<T> {
  try {
    return await withClient((client) => work(client, null));
  } catch (error) {
    if (!(error instanceof Error) || error.name !== 'TemporalUnreachableError') throw error;
    return work(null, error.message);
  }
}

function printFleet(report: FleetReport): void {
  if (report.temporal.reachable) {
    console.log('task queues:');
    for (const line of queueLines(report.taskQueues)) console.log(`  ${line}`);
  } else {
    console.log(`task queues: unknown (${report.temporal.error})`);
  }
  const stages = Object.entries(report.sites.byStage)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([stage, count]) => `${stage} ${count}`)
    .join(', ');
  console.log(`sites: ${report.sites.registered} registered${stages ? ` (${stages})` : ''}`);
  console.log(report.active.length === 0 ? 'no site is in a run' : `in a run (${report.active.length}):`);
  for (const site of report.active) console.log(`  ${site.line}`);
  for (const [title, runs] of [
    ['last failed or cancelled', report.lastFailed],
    ['last completed', report.lastCompleted],
  ] as const) {
    if (runs.length === 0) continue;
    console.log(`${title}:`);
    for (const run of runs) {
      const error = run.error ? `: ${run.errorStage ? `${run.errorStage}: ` : ''}${run.error}` : '';
      const cancelled = run.stage === 'cancelled' ? ' (cancelled)' : '';
      console.log(`  ${run.subdomain} ${run.finishedAt ?? '(time unknown)'}${cancelled}${error}`);
      if (run.webUi) console.log(`    ${run.webUi}`);
    }
  }
  console.log(`Web UI: ${report.webUi}`);
}

/** "ocr  activity: backlog 12 (3.2 s), 2 pollers, 4.1/s dispatched" per queue and kind. */
function queueLines(queues: TaskQueueReport[]): string[] {
  const width = Math.max(0, ...queues.map((q) => q.name.length));
  return queues.flatMap((queue) =>
    Object.entries(queue.kinds).map(([kind, stats]) => {
      const age = stats.backlog > 0 ? ` (oldest ${stats.backlogAgeSeconds.toFixed(1)} s)` : '';
      return `${queue.name.padEnd(width)}  ${kind.padEnd(8)}  backlog ${stats.backlog}${age}, ${stats.pollers} poller${stats.pollers === 1 ? '' : 's'}, ${stats.dispatchRate}/s dispatched`;
    }),
  );
}

function printSite(report: SiteStatusReport): void {
  console.log(`${report.subdomain}: ${report.stage} (workflow ${report.workflowStatus ?? 'never started'})`);
  if (report.progress) console.log(`  stage:     ${report.progress.stage_completed}/${report.progress.stage_total}`);
  console.log(`  documents: ${report.documents.done} done, ${report.documents.failed} failed of ${report.documents.total}`);
  console.log(`  pages:     ${report.pages.done} done, ${report.pages.failed} failed of ${report.pages.total}`);
  const low = report.lowConfidence;
  if (low.count > 0) {
    const where = low.examples.map((e) => `${e.documentId} p.${e.page} (${e.confidence})`).join(', ');
    console.log(`  OCR:       ${low.count} page(s) under ${low.threshold}% mean confidence, lowest: ${where}`);
  }
  if (report.query) {
    const kept = report.query.archiveKept;
    const deployed = report.query.deployed ?? (kept ? `nothing new: kept version ${kept.version}` : 'not yet');
    console.log(`  branches:  fast ${report.query.branches.fast}, full ${report.query.branches.full}; deployed: ${deployed}`);
    console.log(`  started ${report.query.startedAt}, updated ${report.query.updatedAt}`);
    if (report.query.error) console.log(`  error: ${report.query.error}`);
  } else {
    console.log('  (no worker answered the status query; counts are from Postgres)');
  }
  const { groups, totals } = report.failures;
  if (groups.length === 0) {
    console.log('  failures:  none');
  } else {
    console.log(`  failures:  ${Object.entries(totals).filter(([, count]) => count > 0).map(([kind, count]) => `${kind} ${count}`).join(', ')} (clerk failures --site ${report.subdomain} lists them)`);
    for (const group of groups) {
      const example = group.examples[0];
      console.log(`    ${group.stage} ${group.kind} ${group.reason}: ${group.count}${example?.error ? `, e.g. ${example.error}` : ''}`);
    }
  }
  console.log(`  Web UI:    ${report.webUiRun ?? report.webUi}`);
  console.log(`  children:  ${report.webUiSiteWorkflows}`);
}

function watchLine(report: SiteReport): string {
  const stage = report.progress ? ` (${report.progress.stage_completed}/${report.progress.stage_total})` : '';
  return `${new Date().toISOString()} ${report.subdomain}: ${report.stage}${stage}, pages ${report.pages.done} done, ${report.pages.failed} failed of ${report.pages.total} (workflow ${report.workflowStatus ?? 'never started'})`;
}

type CliProgress = typeof cliProgressModule;

/** The progress bars' package, loaded only by --watch: a plain `clerk status` does not wait for it. */
async function loadCliProgress(): Promise<CliProgress> {
  return (await import('cli-progress')).default;
}

const BAR_FORMAT = '{site} [{bar}] {value}/{total} {stage} | pages {pagesDone} done, {pagesFailed} failed of {pagesTotal}';

/** One site's bar, as `clerk enqueue --wait` draws it. */
class SiteBar {
  private readonly bar: cliProgressModule.SingleBar;
  private started = false;

  constructor(cliProgress: CliProgress) {
    this.bar = new cliProgress.SingleBar({ format: BAR_FORMAT, hideCursor: true, clearOnComplete: false }, cliProgress.Presets.shades_classic);
  }

  draw(report: SiteReport): void {
    const total = Math.max(report.progress?.stage_total ?? 1, 1);
    const payload = { site: report.subdomain, stage: report.stage, pagesDone: report.pages.done, pagesFailed: report.pages.failed, pagesTotal: report.pages.total };
    if (!this.started) {
      this.bar.start(total, report.progress?.stage_completed ?? 0, payload);
      this.started = true;
    }
    this.bar.setTotal(total);
    this.bar.update(report.progress?.stage_completed ?? 0, payload);
  }

  stop(): void {
    if (this.started) this.bar.stop();
  }
}

/**
 * The fleet's screen in a terminal: a line per task queue and a bar per site in a run. A site's
 * bar stays once its run ends, showing how it ended; bars of sites that start later are added.
 */
class FleetBars {
  private readonly bars: cliProgressModule.MultiBar | undefined;
  private readonly queueLines = new Map<string, cliProgressModule.SingleBar>();
  private readonly siteBars = new Map<string, cliProgressModule.SingleBar>();

  constructor(cliProgress: CliProgress) {
    this.bars = process.stderr.isTTY ? new cliProgress.MultiBar({ format: BAR_FORMAT, hideCursor: true, clearOnComplete: false }, cliProgress.Presets.shades_classic) : undefined;
  }

  draw(report: FleetReport): void {
    if (!this.bars) {
      // No terminal to redraw: one line per site in a run, at each redraw.
      for (const site of report.active) console.log(`${report.at} ${site.line}`);
      return;
    }
    const lines = report.temporal.reachable ? queueLines(report.taskQueues) : [`task queues: unknown (${report.temporal.error})`];
    lines.forEach((text, i) => {
      const key = String(i);
      if (!this.queueLines.has(key)) this.queueLines.set(key, this.bars!.create(1, 0, { text }, { format: '{text}' }));
      this.queueLines.get(key)!.update(0, { text });
    });
    const seen = new Set<string>();
    for (const site of report.active) {
      seen.add(site.subdomain);
      const payload = { site: site.subdomain, stage: site.stage, pagesDone: site.pages.done, pagesFailed: site.pages.failed, pagesTotal: site.pages.total };
      if (!this.siteBars.has(site.subdomain)) this.siteBars.set(site.subdomain, this.bars.create(Math.max(site.stageTotal, 1), site.stageCompleted, payload));
      const bar = this.siteBars.get(site.subdomain)!;
      bar.setTotal(Math.max(site.stageTotal, 1));
      bar.update(site.stageCompleted, payload);
    }
    // A site no longer in a run has ended: its bar says how, from the last runs the screen lists.
    for (const [subdomain, bar] of this.siteBars) {
      if (seen.has(subdomain)) continue;
      const ended = [...report.lastFailed, ...report.lastCompleted].find((run) => run.subdomain === subdomain);
      bar.update(bar.getTotal(), { stage: ended?.stage ?? 'ended' });
    }
  }

  /** Ends the redraws; given the last report, prints the whole screen once more, as `clerk status` does. */
  stop(report?: FleetReport): void {
    this.bars?.stop();
    if (report) printFleet(report);
  }
}

function printJsonLine(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

function sleep(seconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, seconds * 1000));
}

function secondsFlag(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new InvalidArgumentError('expected a number of seconds above 0, such as 2 or 0.5');
  return seconds;
}
