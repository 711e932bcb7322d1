import type { Client } from '@temporalio/client';
import type { ClerkConfig } from '../config/index.js';
import type { Db } from '../db/connect.js';
import type { SiteProgressRow } from '../db/schema.js';
import { lowConfidencePages, type LowConfidencePages } from '../progress/documents.js';
import { readProgress } from '../progress/site-progress.js';
import { describeRun, querySiteStatus } from '../temporal/site-runs.js';
import { webUiUrl } from '../temporal/connection.js';
import { siteWorkflowId, type SiteStatus } from '../workflows/types.js';

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
  webUi: string;
}

export async function siteReport(client: Client, db: Db, config: ClerkConfig, subdomain: string): Promise<SiteReport> {
  const workflowId = siteWorkflowId(subdomain);
  const [run, query, progress, lowConfidence] = await Promise.all([
    describeRun(client, workflowId),
    querySiteStatus(client, subdomain),
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
  };
}

/** The original's one-line form: "alameda.ca: ocr (120/300, 40.0%)". */
export function progressLine(progress: SiteProgressRow): string {
  const total = progress.stage_total;
  const percent = total > 0 ? ((100 * progress.stage_completed) / total).toFixed(1) : '0.0';
  return `${progress.subdomain}: ${progress.current_stage} (${progress.stage_completed}/${total}, ${percent}%)`;
}

/** The lines a finished `--wait` prints for one site: its stage, counts, error and Web UI link. */
export function printRunSummary(report: SiteReport): void {
  console.log('');
  console.log(`${report.subdomain}: ${report.stage} (workflow ${report.workflowStatus})`);
  console.log(`  documents: ${report.documents.done} done, ${report.documents.failed} failed of ${report.documents.total}`);
  console.log(`  pages:     ${report.pages.done} done, ${report.pages.failed} failed of ${report.pages.total}`);
  if (report.query?.error) console.log(`  error: ${report.query.error}`);
  console.log(`  Web UI:    ${report.webUi}`);
}
