import {
  ActivityFailure,
  defineSignal,
  executeChild,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  workflowInfo,
  type ExternalWorkflowHandle,
} from '@temporalio/workflow';
import { activitiesFor } from './activities.js';
import { describeFailure } from './failures.js';
import { ocrChildSearchAttributes } from './search-attributes.js';
import {
  defaultFanOutLimits,
  type Counts,
  type DocumentOutcome,
  type DocumentProgress,
  type DocumentWorkflowInput,
  type FanOutLimits,
  type PageBatchWorkflowInput,
} from './types.js';
import { SlidingWindow } from './window.js';

/** A document's page counts, sent by its children to the site run, whose `status` query adds them up. */
export const documentProgressSignal = defineSignal<[DocumentProgress]>('documentProgress');

/**
 * Runs started before live progress replay without this marker: they send no progress and start
 * their children without search attributes (docs/WORKFLOW-CHANGES.md). Asked once per run, before
 * the first command, by every workflow that sends progress or starts a child.
 */
export const liveProgressPatch = 'live-progress-and-child-search-attributes';

/**
 * The patch runs started since record instead of the one above (docs/WORKFLOW-CHANGES.md): they
 * report progress too, settle their document and record failures with local activities (no activity
 * task, no extra workflow task), and send no report the document's outcome brings a moment later:
 * none when nothing needs OCR (the text layer settled every page), and no last report of a window
 * the document's end follows at once. A text-layer document's run went from four workflow tasks,
 * two activities and a signal to two workflow tasks and one activity.
 */
export const documentRunPatch = 'document-run-2026-12';

/**
 * However long a document, its OCR windows report about this many times in all: every report is an
 * event in the site's history, which also holds every other document in flight.
 */
const MAX_PROGRESS_REPORTS_PER_DOCUMENT = 50;

/**
 * Reads one document: its text layer in a single activity (unless the site run has read it and
 * passes it in), then OCR for only the pages without a usable layer, one activity per page in a
 * sliding window. Every failure is recorded on its page or document and the workflow still
 * completes, so one bad PDF never stalls the site.
 * Documents with more pages than one workflow should hold split into page-batch children.
 * The site run learns the document's page count as soon as it is read, then the pages as they are
 * OCRed, a batch at a time (documentProgressSignal).
 */
export async function documentWorkflow(input: DocumentWorkflowInput): Promise<DocumentOutcome> {
  const { current, live, bookkeeping, ocr, progress } = documentRun(input);
  const { subdomain, documentId } = input;

  let pagesToOcr: number[];
  if (input.textLayer) {
    // The site run read the layer and counted its pages itself: this child only OCRs.
    ({ pagesToOcr } = input.textLayer);
  } else {
    const read = await readTextLayerOrSettle(() => ocr.readTextLayer({ subdomain, documentId }), bookkeeping, { subdomain, documentId });
    if ('failed' in read) return read.failed;
    const { pageCount } = read.layer;
    ({ pagesToOcr } = read.layer);
    // With nothing to OCR the document's outcome follows at once and carries the same counts.
    if (!current || pagesToOcr.length > 0) progress?.report('text-layer', { total: pageCount, done: pageCount - pagesToOcr.length, failed: 0 });
  }

  const limits: FanOutLimits = { ...input.limits, progressBatchPages: progressBatchPagesFor(input.limits, pagesToOcr.length) };
  if (pagesToOcr.length <= limits.pagesPerBatch) {
    // The document ends right after its only window, so its last report would only precede the outcome.
    await ocrPagesInWindow({ ...input, limits, pages: pagesToOcr }, bookkeeping, progress, { reportLast: !current });
  } else {
    // A batch gets its own pages, not the document's whole list.
    const { textLayer: _wholeList, ...batchInput } = input;
    const batches = new SlidingWindow(2);
    for (let start = 0; start < pagesToOcr.length; start += limits.pagesPerBatch) {
      const pages = pagesToOcr.slice(start, start + limits.pagesPerBatch);
      await batches.start(async () => {
        await executeChild(pageBatchWorkflow, {
          workflowId: `${workflowInfo().workflowId}/pages/${pages[0]}`,
          taskQueue: input.queues.workflows,
          args: [{ ...batchInput, limits, pages }],
          ...(live ? { typedSearchAttributes: ocrChildSearchAttributes(subdomain, 'page-batch') } : {}),
        });
      });
    }
    await batches.drain();
  }
  // The last counts land in the site's history before this child's completion does.
  await progress?.flush();
  return bookkeeping.finishDocument({ subdomain, documentId });
}

/**
 * A document's text layer, read by `read` (in the document's child, or since
 * document-reads-in-site-run in the site run). A read that failed for good is recorded on the
 * document, which is then finished, and its outcome is returned instead; a cancelled run leaves the
 * document unread (fetched), to be read by the next run.
 */
export async function readTextLayerOrSettle<Layer>(
  read: () => Promise<Layer>,
  bookkeeping: DocumentBookkeeping,
  document: { subdomain: string; documentId: string },
): Promise<{ layer: Layer } | { failed: DocumentOutcome }> {
  try {
    return { layer: await read() };
  } catch (error) {
    if (!(error instanceof ActivityFailure) || isCancellation(error)) throw error;
    await bookkeeping.markDocumentFailed({ ...document, ...describeFailure(error) });
    return { failed: await bookkeeping.finishDocument(document) };
  }
}

/** OCR for one slice of a long document's pages, reporting them to the site run as they are done. */
export async function pageBatchWorkflow(input: PageBatchWorkflowInput): Promise<void> {
  const { bookkeeping, progress } = documentRun(input);
  // The document goes on with other batches: this batch's last counts are worth a report.
  await ocrPagesInWindow(input, bookkeeping, progress, { reportLast: true });
  await progress?.flush();
}

/**
 * What a document or page-batch run works with, by the patches its history holds: asked once,
 * before the first command; the older patch only when the newer one is absent (short-circuit), so
 * each history replays the one marker it recorded.
 */
function documentRun(input: DocumentWorkflowInput) {
  const current = patched(documentRunPatch);
  const live = current || patched(liveProgressPatch);
  const activities = activitiesFor(input.queues);
  return {
    current,
    live,
    bookkeeping: current ? activities.local.bookkeeping : activities.bookkeeping,
    ocr: activities.ocr,
    progress: live ? progressReporterFor(input) : undefined,
  };
}

/** The bookkeeping a document run calls: scheduled activities on the workflows queue, or local ones. */
export type DocumentBookkeeping = ReturnType<typeof activitiesFor>['bookkeeping'];

async function ocrPagesInWindow(input: PageBatchWorkflowInput, bookkeeping: DocumentBookkeeping, progress: ProgressReporter | undefined, options: { reportLast: boolean }): Promise<void> {
  const { ocr } = activitiesFor(input.queues);
  const { subdomain, documentId } = input;
  const window = new SlidingWindow(input.limits.pagesInFlight);
  // An OCR window adds no pages to the document's total (the text-layer report has them all).
  const part = `pages/${input.pages[0]}`;
  const counts: Counts = { total: 0, done: 0, failed: 0 };
  const reportEvery = input.limits.progressBatchPages ?? defaultFanOutLimits.progressBatchPages;
  let unreported = 0;
  const settle = (outcome: 'done' | 'failed'): void => {
    counts[outcome]++;
    if (++unreported >= reportEvery) {
      unreported = 0;
      progress?.report(part, counts);
    }
  };

  for (const page of input.pages) {
    await window.start(async () => {
      try {
        await ocr.ocrPage({ subdomain, documentId, page });
        settle('done');
      } catch (error) {
        // A cancelled page stays pending: it was not read, it did not fail.
        if (!(error instanceof ActivityFailure) || isCancellation(error)) throw error;
        await bookkeeping.markPageFailed({ subdomain, documentId, page, ...describeFailure(error) });
        settle('failed');
      }
    });
  }
  await window.drain();
  if (unreported > 0 && options.reportLast) progress?.report(part, counts);
}

/** Old inputs lack `progressBatchPages`; a long document reports less often, so its reports stay few. */
function progressBatchPagesFor(limits: Partial<FanOutLimits>, pagesToOcr: number): number {
  const configured = limits.progressBatchPages ?? defaultFanOutLimits.progressBatchPages;
  return Math.max(1, configured, Math.ceil(pagesToOcr / MAX_PROGRESS_REPORTS_PER_DOCUMENT));
}

function progressReporterFor(input: DocumentWorkflowInput): ProgressReporter | undefined {
  return input.progressTo ? new ProgressReporter(getExternalWorkflowHandle(input.progressTo), input.documentId) : undefined;
}

/**
 * Sends a document's progress to the site run, one signal at a time: reports made while one is on
 * its way are merged (the newest counts of each part win) and sent next, so the site sees each
 * part's counts in order and a busy document never piles up signals.
 */
class ProgressReporter {
  private readonly unsent = new Map<string, DocumentProgress>();
  private sending: Promise<void> | undefined;

  constructor(
    private readonly site: ExternalWorkflowHandle,
    private readonly documentId: string,
  ) {}

  report(part: string, pages: Counts): void {
    this.unsent.set(part, { documentId: this.documentId, part, pages: { ...pages } });
    this.sending ??= this.sendUnsent();
  }

  /** Resolves once every report made so far is in the site's history. */
  async flush(): Promise<void> {
    await this.sending;
  }

  private async sendUnsent(): Promise<void> {
    for (let next = this.takeNext(); next; next = this.takeNext()) {
      try {
        await this.site.signal(documentProgressSignal, next);
      } catch {
        // The site run has ended, or this one is being cancelled: progress is only a view of the
        // pages table, and the document's outcome settles its counts either way.
      }
    }
    this.sending = undefined;
  }

  private takeNext(): DocumentProgress | undefined {
    const next = this.unsent.values().next();
    if (next.done) return undefined;
    this.unsent.delete(next.value.part);
    return next.value;
  }
}
