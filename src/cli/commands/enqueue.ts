import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import type { Client } from '@temporalio/client';
import type { Db } from '../../db/connect.js';
import { parseSubdomain } from '../../sites/subdomain.js';
import { getSite } from '../../sites/repository.js';
import { runUiUrl, siteWorkflowsUiUrl } from '../../temporal/connection.js';
import { enqueueSite, type EnqueuedRun, type Priority } from '../../temporal/site-runs.js';
import { enqueueAllSites, fleetRefreshResult, queryFleetProgress } from '../../temporal/fleet-runs.js';
import { DEFAULT_MAX_SITES_IN_FLIGHT } from '../../temporal/schedules.js';
import { CliError, config, ExitCode, printJson, withClient, withDb } from '../context.js';
import { durationFlag, positiveIntegerFlag } from '../flags.js';
import { printRunSummary, siteReport, type SiteReport } from '../site-report.js';
import { whereToSearch } from '../where-to-search.js';

export function enqueueCommand(): Command {
  return new Command('enqueue')
    .description('start a run for each site (a site already running is returned, never started twice); --all: every registered site')
    .argument('[subdomain...]', 'one or more sites, like alameda.ca')
    .addOption(new Option('--priority <priority>', 'task priority').choices(['high', 'normal', 'low']).default('normal'))
    .option('--full', "read each site's whole history and re-check every known document, not only what changed since the last fetch")
    .option('--all', "every registered site, oldest last successful run first, as the nightly refresh does (one fleet refresh workflow)")
    .option('--spread <duration>', 'with --all: start the sites evenly over this long, like 30m (default 0s: as fast as --max-in-flight lets)', durationFlag, 0)
    .option('--max-in-flight <n>', 'with --all: at most this many sites in a run at once', positiveIntegerFlag, DEFAULT_MAX_SITES_IN_FLIGHT)
    .option('--wait', 'show progress until every run ends, then where to look at the results')
    .option('--json', 'print JSON')
    .action(async (subdomainArgs: string[], options: { priority: Priority; full?: boolean; all?: boolean; spread: number; maxInFlight: number; wait?: boolean; json?: boolean }) => {
      if (options.all) return enqueueAll(subdomainArgs, options);
      if (subdomainArgs.length === 0) throw new CliError('name one or more sites, or --all for every registered site', ExitCode.usage);
      // Validate every argument before starting anything.
      const subdomains = subdomainArgs.map((s) => parseSubdomain(s));
      const outcome = await withDb(async (db) => {
        for (const subdomain of subdomains) await getSite(db, subdomain);
        return withClient(async (client) => {
          const runs: (EnqueuedRun & { webUi: string; webUiSiteWorkflows: string })[] = [];
          for (const subdomain of subdomains) {
            const run = await enqueueSite(client, config(), subdomain, { priority: options.priority, full: options.full });
            // The run's own page, and the site's workflows (the run and its document children).
            runs.push({ ...run, webUi: runUiUrl(config(), run.workflowId, run.runId), webUiSiteWorkflows: siteWorkflowsUiUrl(config(), subdomain) });
            if (!options.json) {
              console.log(`${subdomain}: ${run.started ? 'started' : 'already running'} (workflow ${run.workflowId}, run ${run.runId})`);
              console.log(`  Web UI: ${runs.at(-1)!.webUi}`);
            }
          }
          if (!options.wait) return { runs, reports: [] as SiteReport[] };
          const reports = await waitWithProgress(client, db, subdomains, !options.json);
          return { runs, reports };
        });
      });
      if (options.json) printJson(outcome);
      else for (const report of outcome.reports) printSummary(report);
      if (outcome.reports.some((r) => r.workflowStatus !== 'COMPLETED')) process.exitCode = ExitCode.failed;
    });
}

async function waitWithProgress(client: Client, db: Db, subdomains: string[], showBar: boolean): Promise<SiteReport[]> {
  const bars = showBar
    ? new cliProgress.MultiBar(
        { format: '{site} [{bar}] {value}/{total} {stage} | pages {pagesDone} done, {pagesFailed} failed', hideCursor: true, clearOnComplete: false },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const barFor = new Map(subdomains.map((s) => [s, bars?.create(1, 0, { site: s, stage: 'queued', pagesDone: 0, pagesFailed: 0 })]));
  try {
    for (;;) {
      const reports = await Promise.all(subdomains.map((s) => siteReport(client, db, config(), s)));
      for (const report of reports) {
        const progress = report.progress;
        barFor.get(report.subdomain)?.setTotal(Math.max(progress?.stage_total ?? 1, 1));
        barFor.get(report.subdomain)?.update(progress?.stage_completed ?? 0, {
          site: report.subdomain,
          stage: report.stage,
          pagesDone: progress?.pages_done ?? 0,
          pagesFailed: progress?.pages_failed ?? 0,
        });
      }
      if (reports.every((r) => r.workflowStatus !== 'RUNNING')) return reports;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  } finally {
    bars?.stop();
  }
}

function printSummary(report: SiteReport): void {
  printRunSummary(report);
  console.log(whereToSearch(config(), report.subdomain));
}

/**
 * `clerk enqueue --all`: starts the fleet refresh workflow (or returns the one running) and, with
 * --wait, follows it until its last site run has closed.
 */
async function enqueueAll(subdomainArgs: string[], options: { priority: Priority; full?: boolean; spread: number; maxInFlight: number; wait?: boolean; json?: boolean }): Promise<void> {
  if (subdomainArgs.length > 0) throw new CliError('--all enqueues every registered site: name no sites with it', ExitCode.usage);
  if (options.full) throw new CliError('--full is per site: `clerk enqueue <site...> --full`', ExitCode.usage);
  const outcome = await withClient(async (client) => {
    const run = await enqueueAllSites(client, config(), { spreadMs: options.spread, maxSitesInFlight: options.maxInFlight, priority: options.priority });
    const webUi = runUiUrl(config(), run.workflowId, run.runId);
    if (!options.json) {
      console.log(`every site: ${run.started ? 'refresh started' : 'a refresh is already running'} (workflow ${run.workflowId}, run ${run.runId}), at most ${options.maxInFlight} sites at once`);
      console.log(`  Web UI: ${webUi}`);
    }
    if (!options.wait) return { ...run, webUi, counts: null };
    const bar = options.json || !process.stderr.isTTY ? undefined : new cliProgress.SingleBar({ format: 'sites [{bar}] {value}/{total} done | {inFlight} in a run, {failed} not enqueued', hideCursor: true }, cliProgress.Presets.shades_classic);
    bar?.start(1, 0, { inFlight: 0, failed: 0 });
    const following = setInterval(() => {
      void queryFleetProgress(client, run.workflowId).then((progress) => {
        if (!progress) return;
        bar?.setTotal(Math.max(progress.sites, 1));
        bar?.update(progress.enqueued - (progress.inFlight ?? 0), { inFlight: progress.inFlight ?? '?', failed: progress.failed });
      });
    }, 1_000);
    try {
      const counts = await fleetRefreshResult(client, run.workflowId, run.runId);
      bar?.update(counts.started + counts.alreadyRunning, { inFlight: 0, failed: counts.failed });
      return { ...run, webUi, counts };
    } finally {
      clearInterval(following);
      bar?.stop();
    }
  });
  if (options.json) return printJson(outcome);
  if (outcome.counts) {
    const c = outcome.counts;
    console.log(`every site: ${c.sites} registered, ${c.started} started, ${c.alreadyRunning} already running, ${c.failed} could not be enqueued; \`clerk status\` shows how each run ended`);
  }
  if (outcome.counts && outcome.counts.failed > 0) process.exitCode = ExitCode.failed;
}
