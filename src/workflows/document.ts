import { ActivityFailure, executeChild, workflowInfo } from '@temporalio/workflow';
import { activitiesFor } from './activities.js';
import { describeFailure } from './failures.js';
import type { DocumentOutcome, DocumentWorkflowInput, PageBatchWorkflowInput } from './types.js';
import { SlidingWindow } from './window.js';

/**
 * Reads one document: its text layer in a single activity, then OCR for only the pages without a
 * usable layer, one activity per page in a sliding window. Every failure is recorded on its page
 * or document and the workflow still completes, so one bad PDF never stalls the site.
 * Documents with more pages than one workflow should hold split into page-batch children.
 */
export async function documentWorkflow(input: DocumentWorkflowInput): Promise<DocumentOutcome> {
  const { bookkeeping, ocr } = activitiesFor(input.queues);
  const { subdomain, documentId } = input;

  let pagesToOcr: number[];
  try {
    ({ pagesToOcr } = await ocr.readTextLayer({ subdomain, documentId }));
  } catch (error) {
    if (!(error instanceof ActivityFailure)) throw error;
    await bookkeeping.markDocumentFailed({ subdomain, documentId, ...describeFailure(error) });
    return bookkeeping.finishDocument({ subdomain, documentId });
  }

  if (pagesToOcr.length <= input.limits.pagesPerBatch) {
    await ocrPagesInWindow({ ...input, pages: pagesToOcr });
  } else {
    const batches = new SlidingWindow(2);
    for (let start = 0; start < pagesToOcr.length; start += input.limits.pagesPerBatch) {
      const pages = pagesToOcr.slice(start, start + input.limits.pagesPerBatch);
      await batches.start(async () => {
        await executeChild(pageBatchWorkflow, {
          workflowId: `${workflowInfo().workflowId}/pages/${pages[0]}`,
          taskQueue: input.queues.workflows,
          args: [{ ...input, pages }],
        });
      });
    }
    await batches.drain();
  }
  return bookkeeping.finishDocument({ subdomain, documentId });
}

/** OCR for one slice of a long document's pages. */
export async function pageBatchWorkflow(input: PageBatchWorkflowInput): Promise<void> {
  await ocrPagesInWindow(input);
}

async function ocrPagesInWindow(input: PageBatchWorkflowInput): Promise<void> {
  const { bookkeeping, ocr } = activitiesFor(input.queues);
  const { subdomain, documentId } = input;
  const window = new SlidingWindow(input.limits.pagesInFlight);
  for (const page of input.pages) {
    await window.start(async () => {
      try {
        await ocr.ocrPage({ subdomain, documentId, page });
      } catch (error) {
        if (!(error instanceof ActivityFailure)) throw error;
        await bookkeeping.markPageFailed({ subdomain, documentId, page, ...describeFailure(error) });
      }
    });
  }
  await window.drain();
}
