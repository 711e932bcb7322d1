/** Shapes shared by the workflows, the activities they call, and the clients that query them. */

export interface TaskQueues {
  workflows: string;
  fetch: string;
  ocr: string;
  extraction: string;
  deploy: string;
}

export function taskQueuesWithPrefix(prefix: string): TaskQueues {
  return {
    workflows: `${prefix}workflows`,
    fetch: `${prefix}fetch`,
    ocr: `${prefix}ocr`,
    extraction: `${prefix}extraction`,
    deploy: `${prefix}deploy`,
  };
}

export interface FanOutLimits {
  /** Document child workflows running at once in a site workflow. */
  documentsInFlight: number;
  /** OCR page activities running at once in one document (or page batch) workflow. */
  pagesInFlight: number;
  /** Pages handled by one workflow; longer documents split into page-batch children. */
  pagesPerBatch: number;
  /** History length at which the site workflow continues as new (the server also suggests it). */
  continueAsNewAfterEvents: number;
  /**
   * Pages an OCR window completes between two progress reports to the site workflow (its `status`
   * query). Absent in runs enqueued before live progress, so workflows default it.
   */
  progressBatchPages: number;
}

export const defaultFanOutLimits: FanOutLimits = {
  documentsInFlight: 50,
  pagesInFlight: 50,
  pagesPerBatch: 500,
  continueAsNewAfterEvents: 4_000,
  progressBatchPages: 20,
};

export type SiteStage = 'queued' | 'fetch' | 'ocr' | 'extraction' | 'deploy' | 'completed' | 'failed' | 'cancelled';
/** `skipped`: the run read nothing new and kept the live archive (`SiteStatus.archiveKept`). */
export type BranchState = 'pending' | 'running' | 'done' | 'failed' | 'skipped';

export interface Counts {
  total: number;
  done: number;
  failed: number;
}

export interface SiteStatus {
  subdomain: string;
  stage: SiteStage;
  documents: Counts;
  pages: Counts;
  branches: { fast: BranchState; full: BranchState };
  /** The variant of the newest publication of this run. */
  deployed: 'full' | 'fast' | null;
  /**
   * Each branch's publication: the fast path's goes out as soon as its database is compiled, the
   * full path's replaces it. Absent in a status carried over from a run started before early
   * publishing (`resume.status`), so readers must tolerate `undefined`.
   */
  publications?: { fast: Publication | null; full: Publication | null };
  /**
   * Set when the run found the live archive already a full archive of the site as it is (nothing
   * new, changed or retried), so it built and published nothing: the version it kept and why.
   * Absent otherwise, and in runs started before the incremental re-run.
   */
  archiveKept?: { version: number | null; reason: string };
  error: string | null;
  startedAt: string;
  updatedAt: string;
}

export type Publication =
  | { state: 'published'; version: number; sha256: string; pages: number; entities: number; votes: number; publishedAt: string }
  | { state: 'failed'; error: string };

export interface SiteWorkflowInput {
  subdomain: string;
  queues: TaskQueues;
  limits?: Partial<FanOutLimits>;
  /** Read the site's whole history and re-check every known document (`clerk enqueue --full`). */
  full?: boolean;
  /**
   * `clerk retry --failed-only`: the failed pages and documents were sent back to be read before
   * the start, so the run reads no listing and starts at OCR from these counts of what stays
   * settled. Absent in every run started before it existed, which take the fetch path.
   */
  failedOnly?: { settled: SettledSnapshot };
  /** Set only by continue-as-new: where the OCR stage left off. */
  resume?: { status: SiteStatus; afterDocumentId: string | null };
}

export interface DocumentWorkflowInput {
  subdomain: string;
  documentId: string;
  queues: TaskQueues;
  /** Runs enqueued before live progress carry no `progressBatchPages`. */
  limits: FanOutLimits;
  /**
   * The workflow id of the site run to send page progress to (documentProgressSignal). Absent in
   * children started before live progress, which report nothing.
   */
  progressTo?: string;
  /**
   * The document's text layer as the site run read it (runs started since
   * `document-reads-in-site-run`, which start a child only for a document with pages to OCR): the
   * child OCRs these pages without reading the layer again. Absent in older children, which read it.
   */
  textLayer?: { pageCount: number; pagesToOcr: number[] };
}

/** The activity id of a site run's reading of one document's text layer (readTextLayerOf). */
export function documentReadActivityId(documentId: string): string {
  return `read/${documentId}`;
}

export interface PageBatchWorkflowInput extends DocumentWorkflowInput {
  pages: number[];
}

export type { DocumentOutcome } from '../progress/documents.js';

/**
 * One part of a document's pages as its child workflow last counted them: the text-layer read
 * (`part: 'text-layer'`, every page of the document, those with a usable layer done) or one OCR
 * window (`part: 'pages/<first page>'`, done and failed only). Counts are absolute, never
 * increments, so a report delivered twice or late cannot count a page twice.
 */
export interface DocumentProgress {
  documentId: string;
  part: string;
  pages: Counts;
}

export interface SettledSnapshot {
  documents: Counts;
  /** Pages of documents already settled before this run's OCR stage. */
  pages: Counts;
}

export function siteWorkflowId(subdomain: string): string {
  return `site/${subdomain}`;
}

/** The workflow id a site run gives a document's child (which OCRs it, and in runs before document-reads-in-site-run reads it). */
export function documentChildWorkflowId(subdomain: string, documentId: string): string {
  return `${siteWorkflowId(subdomain)}/doc/${documentId}`;
}
