import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import type { Client } from '@temporalio/client';
import type { Db } from '../../db/connect.js';
import { parseSubdomain } from '../../sites/subdomain.js';
import { getSite } from '../../sites/repository.js';
import { runUiUrl, siteWorkflowsUiUrl } from '../../temporal/connection.js';
import { enqueueSite, type EnqueuedRun, type Priority } from '../../temporal/site-runs.js';
import { config, ExitCode, printJson, withClient, withDb } from '../context.js';
import { printRunSummary, siteReport, type SiteReport } from '../site-report.js';
import { whereToSearch } from '../where-to-search.js';

export function enqueueCommand(): Command {
  return new Command('enqueue')
    .description('start a run for each site (a site already running is returned, never started twice)')
    .argument('<subdomain...>', 'one or more sites, like alameda.ca')
    .addOption(new Option('--priority <priority>', 'task priority').choices(['high', 'normal', 'low']).default('normal'))
    .option('--full', "read each site's whole history and re-check every known document, not only what changed since the last fetch")
    .option('--wait', 'show progress until every run ends, then where to look at the results')
    .option('--json', 'print JSON')
    .action(async (subdomainArgs: string[], options: { priority: Priority; full?: boolean; wait?: boolean; json?: boolean }) => {
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
