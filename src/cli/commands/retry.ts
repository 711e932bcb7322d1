import { Command, Option } from 'commander';
import type { Client } from '@temporalio/client';
import type { Db } from '../../db/connect.js';
import { planHasWork, planRetry, sendBackFailedWork, type RetryPlan } from '../../progress/failures.js';
import { getSite } from '../../sites/repository.js';
import { parseSubdomain } from '../../sites/subdomain.js';
import { describeRun, enqueueSite, type EnqueuedRun, type Priority } from '../../temporal/site-runs.js';
import { siteWorkflowId } from '../../workflows/types.js';
import { config, ExitCode, printJson, withClient, withDb } from '../context.js';
import { printRunSummary, siteReport, type SiteReport } from '../site-report.js';

interface RetryOptions {
  failedOnly?: boolean;
  priority: Priority;
  wait?: boolean;
  json?: boolean;
  dryRun?: boolean;
}

/** One site's outcome; `run` is null when nothing was started or found running. */
interface RetryOutcome {
  subdomain: string;
  failedOnly: boolean;
  /** started: a new run; running: a run was already open and is returned; nothing: no failure to retry (failed-only). */
  outcome: 'started' | 'running' | 'nothing';
  run: EnqueuedRun | null;
  plan: RetryPlan;
}

export function retryCommand(): Command {
  return new Command('retry')
    .description('run again what failed: with --failed-only, just the failed pages and documents (no listing is read); without, a normal run')
    .argument('<subdomain...>', 'one or more sites, like alameda.ca')
    .option('--failed-only', 'read again only the failed pages and documents, then compile and deploy; no listing is fetched and done documents are not touched')
    .addOption(new Option('--priority <priority>', 'task priority').choices(['high', 'normal', 'low']).default('normal'))
    .option('--wait', 'wait until every run ends, then show each site')
    .option('--json', 'print JSON')
    .option('--dry-run', 'print exactly which pages and documents would be read again, and change nothing')
    .action(async (subdomainArgs: string[], options: RetryOptions) => {
      // Validate every argument before changing anything.
      const subdomains = subdomainArgs.map((s) => parseSubdomain(s));
      const failedOnly = options.failedOnly ?? false;
      const result = await withDb(async (db) => {
        for (const subdomain of subdomains) await getSite(db, subdomain);
        return withClient(async (client) => {
          if (options.dryRun) return { dryRun: true as const, sites: await dryRun(client, db, subdomains) };
          const outcomes: RetryOutcome[] = [];
          for (const subdomain of subdomains) {
            const outcome = await retrySite(client, db, subdomain, options);
            outcomes.push(outcome);
            if (!options.json) printOutcome(outcome);
          }
          const reports = options.wait ? await waitForRuns(client, db, outcomes) : [];
          return { dryRun: false as const, outcomes, reports };
        });
      });
      if (result.dryRun) {
        if (options.json) printJson({ dryRun: true, failedOnly, sites: result.sites });
        else for (const site of result.sites) printPlan(site, failedOnly);
        return;
      }
      if (options.json) {
        printJson({
          failedOnly,
          runs: result.outcomes.map((o) => ({
            subdomain: o.subdomain,
            outcome: o.outcome,
            workflowId: o.run?.workflowId ?? null,
            runId: o.run?.runId ?? null,
            pages: o.plan.pages.length,
            documents: o.plan.documents.length,
            downloadsNotRetried: failedOnly ? o.plan.downloads.length : 0,
          })),
          reports: result.reports,
        });
      } else {
        for (const report of result.reports) printRunSummary(report);
      }
      if (result.reports.some((r) => r.workflowStatus !== 'COMPLETED')) process.exitCode = ExitCode.failed;
    });
}

async function retrySite(client: Client, db: Db, subdomain: string, options: RetryOptions): Promise<RetryOutcome> {
  const failedOnly = options.failedOnly ?? false;
  const plan = await planRetry(db, subdomain);
  if (!failedOnly) {
    const run = await enqueueSite(client, config(), subdomain, { priority: options.priority });
    return { subdomain, failedOnly, outcome: run.started ? 'started' : 'running', run, plan };
  }
  const open = await describeRun(client, siteWorkflowId(subdomain));
  if (open?.status !== 'RUNNING' && !planHasWork(plan)) return { subdomain, failedOnly, outcome: 'nothing', run: null, plan };
  // The failed work is sent back only if no run is open: enqueueSite calls this just before the start.
  const run = await enqueueSite(client, config(), subdomain, {
    priority: options.priority,
    failedOnly: async () => (await sendBackFailedWork(db, subdomain)).settled,
  });
  return { subdomain, failedOnly, outcome: run.started ? 'started' : 'running', run, plan };
}

async function dryRun(client: Client, db: Db, subdomains: string[]) {
  const sites = [];
  for (const subdomain of subdomains) {
    const plan = await planRetry(db, subdomain);
    const running = (await describeRun(client, siteWorkflowId(subdomain)))?.status === 'RUNNING';
    sites.push({ ...plan, running });
  }
  return sites;
}

function printPlan(site: RetryPlan & { running: boolean }, failedOnly: boolean): void {
  if (site.running) console.log(`${site.subdomain}: a run is already in progress; retry would return it and start nothing`);
  else if (!failedOnly) console.log(`${site.subdomain}: would start a normal run (fetch what changed, then read these again with anything new):`);
  else if (!planHasWork(site)) console.log(`${site.subdomain}: nothing failed; would start nothing`);
  else console.log(`${site.subdomain}: would read again only these, without fetching the listing:`);
  for (const page of site.pages) console.log(`  page ${page.documentId} p.${page.page} (${page.reason})`);
  for (const doc of site.documents) console.log(`  document ${doc.documentId} (${doc.reason})`);
  if (site.lastRun) console.log(`  the last run failed${site.lastRun.stage ? ` in ${site.lastRun.stage}` : ''}: ${site.lastRun.error ?? '(no message)'}; extraction and deploy run again`);
  if (site.downloads.length > 0) {
    const note = failedOnly ? 'not retried by --failed-only (they need the listing; run `clerk retry` without it)' : 'downloaded again if the listing still has them';
    console.log(`  ${site.downloads.length} failed download(s), ${note}:`);
    for (const download of site.downloads) console.log(`    ${download.documentId} ${download.url} (${download.reason})`);
  }
  console.log('  (dry run: nothing was changed)');
}

function printOutcome(outcome: RetryOutcome): void {
  const { subdomain, run, plan } = outcome;
  const ids = run ? ` (workflow ${run.workflowId}, run ${run.runId})` : '';
  if (outcome.outcome === 'nothing') console.log(`${subdomain}: nothing failed; no run started`);
  else if (outcome.outcome === 'running') console.log(`${subdomain}: already running${ids}; nothing was started or sent back`);
  else if (outcome.failedOnly) console.log(`${subdomain}: started a failed-only retry of ${plan.pages.length} page(s) in ${plan.documents.length} document(s)${ids}`);
  else console.log(`${subdomain}: started${ids}`);
  if (outcome.failedOnly && plan.downloads.length > 0) {
    console.log(`  ${plan.downloads.length} failed download(s) not retried: they need the listing; run \`clerk retry ${subdomain}\` without --failed-only`);
  }
}

/** Waits for each run that was started or found running (continue-as-new included), then reports it. */
async function waitForRuns(client: Client, db: Db, outcomes: RetryOutcome[]): Promise<SiteReport[]> {
  const reports: SiteReport[] = [];
  for (const outcome of outcomes) {
    if (!outcome.run) continue;
    // A failed run is reported from its status below; its error is not this command's.
    await client.workflow.getHandle(outcome.run.workflowId, outcome.run.runId).result().catch(() => undefined);
    reports.push(await siteReport(client, db, config(), outcome.subdomain));
  }
  return reports;
}

