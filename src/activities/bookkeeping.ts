import type { Stage } from '../db/schema.js';
import { failDocument, failPage, finishDocument, listPendingDocumentIds, type DocumentOutcome } from '../progress/documents.js';
import { enterStage, finishRun, startRun, type RunEnd } from '../progress/site-progress.js';
import { getSite, siteExists, UnknownSiteError } from '../sites/repository.js';
import { ApplicationFailure } from '@temporalio/activity';
import type { ActivityDeps } from './deps.js';
import { tracked } from './tracking.js';

/** Small Postgres writes the workflows make between stages; they run on the workflows queue. */
export function createBookkeepingActivities(deps: ActivityDeps) {
  const { db } = deps;
  return {
    startRun: tracked(deps, 'fetch', async (input: { subdomain: string; workflowId: string; runId: string }) => {
      await getSite(db, input.subdomain).catch(failForUnknownSite);
      await startRun(db, input);
    }),

    enterStage: tracked(deps, 'bookkeeping', async (input: { subdomain: string; stage: Stage }) => {
      await enterStage(db, input.subdomain, input.stage, input.stage === 'extraction' ? 2 : 1);
    }),

    listPendingDocuments: tracked(
      deps,
      'ocr',
      async (input: { subdomain: string; afterDocumentId: string | null; limit: number }): Promise<string[]> =>
        listPendingDocumentIds(db, input.subdomain, input.afterDocumentId, input.limit),
    ),

    markPageFailed: tracked(deps, 'ocr', async (input: { subdomain: string; documentId: string; page: number; reason: string; error: string }) => {
      await failPage(db, input.subdomain, input.documentId, input.page, input);
    }),

    markDocumentFailed: tracked(deps, 'ocr', async (input: { subdomain: string; documentId: string; reason: string; error: string }) => {
      await failDocument(db, input.subdomain, input.documentId, input);
    }),

    finishDocument: tracked(
      deps,
      'ocr',
      async (input: { subdomain: string; documentId: string }): Promise<DocumentOutcome> => finishDocument(db, input.subdomain, input.documentId),
    ),

    finishRun: tracked(deps, 'deploy', async (input: { subdomain: string; stage: RunEnd; error?: string; errorStage?: string }) => {
      // A run for a site that was never registered has no progress row to finish.
      if (!(await siteExists(db, input.subdomain))) return;
      await finishRun(db, input.subdomain, input);
    }),
  };
}

export type BookkeepingActivities = ReturnType<typeof createBookkeepingActivities>;

export function failForUnknownSite(error: unknown): never {
  if (error instanceof UnknownSiteError) throw ApplicationFailure.nonRetryable(error.message, 'UnknownSite');
  throw error;
}
