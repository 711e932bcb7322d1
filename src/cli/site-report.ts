import type { Client } from '@temporalio/client';
import type { ClerkConfig } from '../config/index.js';
import type { Db } from '../db/connect.js';
import type { SiteProgressRow } from '../db/schema.js';
import { lowConfidencePages, type LowConfidencePages } from '../progress/documents.js';
import { readFleetProgress, type EndedRun, type FleetProgress } from '../progress/fleet-status.js';
import { readProgress } from '../progress/site-progress.js';
import type { SiteRunReader } from '../temporal/site-runs.js';
import { runUiUrl, siteWorkflowsUiUrl, webUiUrl } from '../temporal/web-ui.js';
import { describeTaskQueues, type TaskQueueReport } from '../temporal/task-queues.js';
import { siteWorkflowId, taskQueuesWithPrefix, type SiteStatus } from '../workflows/types.js';

/** What `clerk status` and `clerk enqueue --wait` show: the workflow's own view and Postgres's. */
export interface SiteReport {
  subdomain: string;
  workflowId: string;
  runId: string | null;
  workflowStatus: string | null;
  stage: string;
  pages: { total: number; done: number; failed: number };
  documents: { total: number; done: number; failed: number };
  /** The status query's answer; null when no worker answered it. */
  query: SiteStatus | null;
  progress: SiteProgressRow | null;
  /** OCR'd pages whose mean word confidence is low: worth a reader's look. */
  lowConfidence: LowConfidencePages;
  /** The Web UI's page of the site workflow (its latest run). */
  webUi: string;
  /** The Web UI's page of this very run; null when the site never ran. */
  webUiRun: string | null;
  /** The Web UI's list of the site's workflows (ClerkSite="<site>"): the run and its document children. */
  webUiSiteWorkflows: string;
}

export async function siteReport(client: Client, db: Db, config: ClerkConfig, subdomain: string): Promise<SiteReport> {
  // Loaded here: `clerk status <site>` reads the run without the SDK's client (siteReportFrom).
  const { clientRunReader } = await import('../temporal/site-runs.js');
  return siteReportFrom(clientRunReader(client), db, config, subdomain);
}

/** The site's report, its run read through `runs`. */
export async function siteReportFrom(runs: SiteRunReader, db: Db, config: ClerkConfig, subdomain: string): Promise<SiteReport> {
  const workflowId = siteWorkflowId(subdomain);
  const [run, query, progress, lowConfidence] = await Promise.all([
    runs.describeRun(workflowId),
    runs.querySiteStatus(subdomain),
    readProgress(db, subdomain),
    lowConfidencePages(db, subdomain),
  ]);
  return {
    subdomain,
    workflowId,
    runId: run?.runId ?? null,
    workflowStatus: run?.status ?? null,
    stage: query?.stage ?? progress?.current_stage ?? 'never-run',
    pages: query?.pages ?? {
      total: progress?.pages_total ?? 0,
      done: progress?.pages_done ?? 0,
      failed: progress?.pages_failed ?? 0,
    },
    documents: query?.documents ?? {
      total: progress?.documents_total ?? 0,
      done: progress?.documents_done ?? 0,
      failed: progress?.documents_failed ?? 0,
    },
    query: query ?? null,
    progress: progress ?? null,
    lowConfidence,
    webUi: webUiUrl(config, workflowId),
    webUiRun: run ? runUiUrl(config, workflowId, run.runId) : null,
    webUiSiteWorkflows: siteWorkflowsUiUrl(config, subdomain),
  };
}

/** The original's one-line form: "alameda.ca: ocr (120/300, 40.0%)". */
export function progressLine(progress: SiteProgressRow): string {
  return `${progress.subdomain}: ${progress.current_stage} (${progress.stage_completed}/${progress.stage_total}, ${stagePercent(progress).toFixed(1)}%)`;
}

/** How far the site is through its current stage, 0-100. */
export function stagePercent(progress: Pick<SiteProgressRow, 'stage_total' | 'stage_completed'>): number {
  return progress.stage_total > 0 ? (100 * progress.stage_completed) / progress.stage_total : 0;
}

/** The lines a finished `--wait` prints for one site: its stage, counts, error and Web UI link. */
export function printRunSummary(report: SiteReport): void {
  console.log('');
  console.log(`${report.subdomain}: ${report.stage} (workflow ${report.workflowStatus})`);
  console.log(`  documents: ${report.documents.done} done, ${report.documents.failed} failed of ${report.documents.total}`);
  console.log(`  pages:     ${report.pages.done} done, ${report.pages.failed} failed of ${report.pages.total}`);
  if (report.query?.archiveKept) console.log(`  archive:   nothing new, ${report.query.archiveKept.reason}: kept`);
  if (report.query?.error) console.log(`  error: ${report.query.error}`);
  console.log(`  Web UI:    ${report.webUiRun ?? report.webUi}`);
  console.log(`  children:  ${report.webUiSiteWorkflows}`);
}

/** A site in a run, as `clerk status` lists it: the original's stage counters and the page and document counts. */
export interface ActiveSite {
  subdomain: string;
  stage: string;
  stageCompleted: number;
  stageTotal: number;
  /** stageCompleted / stageTotal, in percent with one decimal. */
  percent: number;
  documents: { total: number; done: number; failed: number };
  pages: { total: number; done: number; failed: number };
  workflowId: string | null;
  runId: string | null;
  startedAt: string | null;
  updatedAt: string;
  /** The original's line: "alameda.ca: ocr (120/300, 40.0%)". */
  line: string;
  webUi: string | null;
}

/** What `clerk status` shows of the whole fleet (docs/OPERATIONS.md, "Status", gives the JSON shape). */
export interface FleetReport {
  at: string;
  temporal: { reachable: boolean; error: string | null };
  /** Every task queue clerk uses, with its backlog, pollers and dispatch rate; empty when Temporal is unreachable. */
  taskQueues: TaskQueueReport[];
  sites: FleetProgress['sites'];
  active: ActiveSite[];
  lastFailed: (EndedRun & { webUi: string | null })[];
  lastCompleted: (EndedRun & { webUi: string | null })[];
  /** The Web UI's workflow list. */
  webUi: string;
}

/**
 * Reads the fleet's screen: the task queues from Temporal (each queue and kind asked at once) and
 * three Postgres queries, all at the same time. `client` is null when Temporal is unreachable: the
 * Postgres part still answers.
 */
export async function fleetReport(db: Db, config: ClerkConfig, client: Client | null, temporalError: string | null = null): Promise<FleetReport> {
  const [progress, taskQueues] = await Promise.all([
    readFleetProgress(db),
    client ? describeTaskQueues(client, taskQueuesWithPrefix(config.temporal.taskQueuePrefix)).catch((error: unknown) => error as Error) : [],
  ]);
  const queueError = taskQueues instanceof Error ? taskQueues.message : null;
  const withLink = (run: EndedRun) => ({ ...run, webUi: run.workflowId ? (run.runId ? runUiUrl(config, run.workflowId, run.runId) : webUiUrl(config, run.workflowId)) : null });
  return {
    at: new Date().toISOString(),
    temporal: { reachable: client !== null && queueError === null, error: temporalError ?? queueError },
    taskQueues: taskQueues instanceof Error ? [] : taskQueues,
    sites: progress.sites,
    active: progress.active.map((row) => activeSite(config, row)),
    lastFailed: progress.lastFailed.map(withLink),
    lastCompleted: progress.lastCompleted.map(withLink),
    webUi: webUiUrl(config),
  };
}

function activeSite(config: ClerkConfig, row: SiteProgressRow): ActiveSite {
  return {
    subdomain: row.subdomain,
    stage: row.current_stage,
    stageCompleted: row.stage_completed,
    stageTotal: row.stage_total,
    percent: Math.round(stagePercent(row) * 10) / 10,
    documents: { total: row.documents_total, done: row.documents_done, failed: row.documents_failed },
    pages: { total: row.pages_total, done: row.pages_done, failed: row.pages_failed },
    workflowId: row.workflow_id,
    runId: row.run_id,
    startedAt: row.started_at?.toISOString() ?? null,
    updatedAt: row.updated_at.toISOString(),
    line: progressLine(row),
    webUi: row.workflow_id ? (row.run_id ? runUiUrl(config, row.workflow_id, row.run_id) : webUiUrl(config, row.workflow_id)) : null,
  };
}
