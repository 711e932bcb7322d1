import { Command } from 'commander';
import { removeSiteDeployment, siteDeployFiles } from '../../deploy/versions.js';
import { siteDeployDir } from '../../deploy/layout.js';
import { storeSitePrefix } from '../../deploy/store-publish.js';
import { countRunningJobs, countTrackingRows, deleteTrackingRows, waitForRunningJobs, type TrackingRowCounts } from '../../progress/purge.js';
import { getSite } from '../../sites/repository.js';
import { parseSubdomain } from '../../sites/subdomain.js';
import { openDocumentStore } from '../../storage/open.js';
import { openSiteWorkflows, startedActivityAttempts, terminateSiteRun, type OpenWorkflow } from '../../temporal/control.js';
import { config, confirm, printJson, withClient, withDb } from '../context.js';

interface PurgeOptions {
  files?: boolean;
  dryRun?: boolean;
  yes?: boolean;
  json?: boolean;
}

/** Long enough for an activity of the terminated run to reach its next heartbeat and stop. */
const SETTLE_TIMEOUT_MS = 45_000;

/** The longest heartbeat timeout of clerk's activities (src/workflows/activities.ts): an attempt not heard from for longer is dead. */
const HEARTBEAT_TIMEOUT_MS = 30_000;

/** The site's files `--files` deletes: its stored documents, texts and archives, and its deploy folder. */
interface FilesPlan {
  storage: { folder: string; files: number };
  deploy: { folder: string; files: number };
}

interface PurgePlan {
  subdomain: string;
  /** Running workflows that are terminated: the site run and its document and page-batch children. */
  workflows: OpenWorkflow[];
  rows: Partial<TrackingRowCounts>;
  files: FilesPlan | null;
}

export function purgeCommand(): Command {
  return new Command('purge')
    .description(
      "terminate a site's workflows and delete its tracking rows (documents, pages, site_progress, job_tracking, listing_rejections), so it runs again from scratch; the site stays registered. With --files, also its stored files, its deployed archives and their deployment records",
    )
    .argument('<subdomain>', 'the site, like alameda.ca')
    .option('--files', "also delete the site's stored files (PDFs, page texts, archives) and its deploy folder, with the deployment records")
    .option('--dry-run', 'print exactly what would be terminated and deleted, and change nothing')
    .option('--yes', 'do not ask for confirmation')
    .option('--json', 'print JSON')
    .action(async (subdomainArg: string, options: PurgeOptions) => {
      const subdomain = parseSubdomain(subdomainArg);
      const withFiles = options.files ?? false;
      const store = openDocumentStore(config());
      // A shared store also holds the site's deployed archives (`deploy/<site>/...`) for other hosts.
      const storePrefixes = store.remote ? [subdomain, storeSitePrefix(subdomain)] : [subdomain];
      const countStored = async () => (await Promise.all(storePrefixes.map((prefix) => store.keysUnder(prefix)))).reduce((sum, keys) => sum + keys.length, 0);
      const removeStored = async () => (await Promise.all(storePrefixes.map((prefix) => store.removeUnder(prefix)))).reduce((sum, count) => sum + count, 0);
      const result = await withDb(async (db) => {
        await getSite(db, subdomain);
        return withClient(async (client) => {
          const plan: PurgePlan = {
            subdomain,
            workflows: await openSiteWorkflows(client, subdomain),
            rows: await countTrackingRows(db, subdomain, { deployments: withFiles }),
            files: withFiles
              ? {
                  storage: { folder: storePrefixes.map((prefix) => store.describe(prefix)).join(' and '), files: await countStored() },
                  deploy: { folder: siteDeployDir(config().deployDir, subdomain), files: (await siteDeployFiles(config().deployDir, subdomain)).length },
                }
              : null,
          };
          if (options.dryRun) return { plan, purged: null };
          if (!options.json) printPlan(plan, false);
          await confirm(`Purge ${subdomain} as listed above?`, options);
          // What the server holds as running, read before the run is stopped (a closed run lists none).
          const liveReadAt = new Date();
          const live = await startedActivityAttempts(client, plan.workflows);
          const terminated = await terminateSiteRun(client, subdomain, 'clerk purge');
          // Activities of the terminated run may write until they notice: let them stop first. Rows
          // of attempts no longer alive (a dead worker's) are abandoned, not waited for.
          const settled = terminated
            ? await waitForRunningJobs(db, subdomain, { timeoutMs: SETTLE_TIMEOUT_MS, heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS, live, liveReadAt })
            : { running: 0, abandoned: await countRunningJobs(db, subdomain) };
          const rows = await deleteTrackingRows(db, subdomain, { deployments: withFiles });
          const files = withFiles
            ? { storage: await removeStored(), deploy: await removeSiteDeployment(config().deployDir, subdomain) }
            : null;
          return { plan, purged: { terminated: terminated ?? null, activitiesStillRunning: settled.running, activitiesAbandoned: settled.abandoned, rows, files } };
        });
      });
      if (options.json) return printJson({ dryRun: options.dryRun ?? false, ...result });
      if (!result.purged) return printPlan(result.plan, true);
      const { purged } = result;
      if (purged.terminated) console.log(`terminated ${purged.terminated.workflowId} (run ${purged.terminated.runId}) and its children`);
      if (purged.activitiesStillRunning > 0) console.log(`  ${purged.activitiesStillRunning} activity attempt(s) still running after ${SETTLE_TIMEOUT_MS / 1000} s (yet to notice)`);
      if (purged.activitiesAbandoned > 0) console.log(`  ${purged.activitiesAbandoned} activity attempt(s) marked running whose worker is gone (not heard from within the heartbeat timeout): not waited for`);
      console.log(`deleted rows: ${formatRows(purged.rows)}`);
      if (purged.files) console.log(`deleted files: ${purged.files.storage} stored, ${purged.files.deploy} deployed`);
      console.log(`${subdomain} is still registered; \`clerk enqueue ${subdomain}\` runs it from scratch`);
    });
}

function printPlan(plan: PurgePlan, dryRun: boolean): void {
  const would = dryRun ? 'would ' : '';
  console.log(`${plan.subdomain}:`);
  if (plan.workflows.length === 0) console.log('  no running workflow to terminate');
  else console.log(`  ${would}terminate ${plan.workflows.length} running workflow(s):`);
  for (const workflow of plan.workflows) console.log(`    ${workflow.workflowId} (${workflow.type}, run ${workflow.runId})`);
  console.log(`  ${would}delete rows: ${formatRows(plan.rows)}`);
  if (plan.files) {
    console.log(`  ${would}delete ${plan.files.storage.files} stored file(s) under ${plan.files.storage.folder}`);
    console.log(`  ${would}delete ${plan.files.deploy.files} deployed file(s) under ${plan.files.deploy.folder}`);
  } else {
    console.log('  stored files, deployed archives and deployment records stay (--files deletes them)');
  }
  console.log(`  ${would}keep the site's registration`);
  if (dryRun) console.log('  (dry run: nothing was changed)');
}

function formatRows(rows: Partial<TrackingRowCounts>): string {
  return Object.entries(rows)
    .map(([table, count]) => `${table} ${count}`)
    .join(', ');
}
