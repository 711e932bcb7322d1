import {
  ActivityFailure,
  CancellationScope,
  ChildWorkflowFailure,
  condition,
  continueAsNew,
  ContinueAsNew,
  defineQuery,
  executeChild,
  isCancellation,
  patched,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  allHandlersFinished,
} from '@temporalio/workflow';
import { activitiesFor } from './activities.js';
import { describeFailure } from './failures.js';
import { documentProgressSignal, documentWorkflow, liveProgressPatch, readTextLayerOrSettle } from './document.js';
import { ocrChildSearchAttributes, stageSearchAttribute } from './search-attributes.js';
import {
  defaultFanOutLimits,
  type BranchState,
  type Counts,
  type DocumentOutcome,
  type DocumentProgress,
  type DocumentWorkflowInput,
  type FanOutLimits,
  type Publication,
  type SettledSnapshot,
  type SiteStage,
  type SiteStatus,
  type SiteWorkflowInput,
} from './types.js';
import { SlidingWindow } from './window.js';

export const statusQuery = defineQuery<SiteStatus>('status');

const DOCUMENTS_PER_LISTING = 200;

/** The patch that lets a run keep a live archive that is already current (docs/WORKFLOW-CHANGES.md). */
export const keepCurrentArchivePatch = 'keep-current-archive';

/** The patch that runs the site run's bookkeeping and archive check as local activities (docs/WORKFLOW-CHANGES.md). */
export const localBookkeepingPatch = 'local-bookkeeping';

/**
 * The one patch a run started since records for all four changes above (docs/WORKFLOW-CHANGES.md).
 * Such a run takes every new path and asks for none of the four patches, so its first workflow task
 * records one marker and one TemporalChangeVersion upsert instead of four of each: an upsert is a
 * write to the server's visibility store, and most of the server's work for an unchanged site's run.
 * Runs started before it replay without its marker and ask for the four patches as they did.
 * A later change gets a patch of its own, asked after this one.
 */
export const siteRunPatchesConsolidated = 'site-run-patches-2026-12';

/**
 * The patch runs started since record instead of the one above, which it stands for too
 * (docs/WORKFLOW-CHANGES.md): the fetch records the run's start (no startRun step before it), and an
 * unchanged site's run records its end in the step that finds its archive current
 * (keepArchiveIfCurrent, instead of archiveIsCurrent then finishRun). An unchanged site's run went
 * from three local activities and five workflow activations to one and three; a run that reads
 * documents reaches its fetch one local activity sooner. Runs started before it replay without its
 * marker and ask for the consolidated patch as they did.
 */
export const siteRunStartInFetchPatch = 'site-run-start-in-fetch';

/**
 * The patch runs started since record instead of the one above, which it stands for too
 * (docs/WORKFLOW-CHANGES.md): a run that fetches first reads its listing in its first workflow task
 * (the local activity fetchSiteIfNothingToDownload), and schedules fetchSite on the fetch queue only
 * when a document must be downloaded or the listing could not be read there. An unchanged site's run
 * went from two workflow tasks and one activity to one workflow task and no activity, and its
 * search attribute from three values to two (queued, completed). Runs started before it replay
 * without its marker and ask for the older patches as they did.
 */
export const siteRunListingInFirstTaskPatch = 'site-run-listing-in-first-task';

/**
 * The patch runs started since record instead of the one above, which it stands for too
 * (docs/WORKFLOW-CHANGES.md): the run reads each document's text layer itself (activity id
 * `read/<document id>`) and starts a document child only for a document with pages to OCR, passing
 * it the pages; a document the text layer settles whole is finished by its read. A text-layer
 * document went from a child (its start, two workflow tasks, its completion) to one activity, and
 * a document's first read no longer waits for its child's first workflow task. Runs started before
 * it replay without its marker and ask for the older patches as they did.
 */
export const documentReadsInSiteRunPatch = 'document-reads-in-site-run';

/** The bookkeeping a site run calls: scheduled activities on the workflows queue, or local ones. */
type SiteBookkeeping = ReturnType<typeof activitiesFor>['bookkeeping'];

/**
 * One run over one site: fetch its new documents; read every document's text layer and OCR the
 * pages without one in a child workflow per document, in a sliding window, and wait for all of
 * them; then build the search-only archive (fast path) and the entity archive (full path) in parallel. The fast path publishes its archive as soon as
 * it is compiled, so the site is searchable while entities are still being extracted; the full
 * path's archive then replaces it. Long sites continue as new during OCR, so the history stays
 * small whatever the site's size. During OCR the `status` query counts the pages of the documents
 * in flight as their children report them, not only those of the documents settled. When the
 * live archive is a full archive of the site exactly as the run leaves it (nothing new or changed:
 * the incremental re-run), the run keeps it and ends without extracting or deploying.
 */
export async function siteWorkflow(input: SiteWorkflowInput): Promise<SiteStatus> {
  // Asked once, before the first command. With the consolidated marker every path below is the
  // new one; without it (runs started before it) each patch is asked as it was (short-circuit: in
  // order, and only then), so their histories replay the markers they recorded.
  const readsDocuments = patched(documentReadsInSiteRunPatch);
  const listsInFirstTask = readsDocuments || patched(siteRunListingInFirstTaskPatch);
  const startsInFetch = listsInFirstTask || patched(siteRunStartInFetchPatch);
  const consolidated = startsInFetch || patched(siteRunPatchesConsolidated);
  // Runs started before early publishing replay without its marker and keep the old deploy stage
  // (docs/WORKFLOW-CHANGES.md).
  const publishesEarly = consolidated || patched('publish-fast-path-early');
  // Runs started before live progress start their children without progress reports or search
  // attributes (docs/WORKFLOW-CHANGES.md).
  const reportsLive = consolidated || patched(liveProgressPatch);
  // Runs started before the incremental re-run always extract and deploy (docs/WORKFLOW-CHANGES.md).
  const keepsCurrentArchive = consolidated || patched(keepCurrentArchivePatch);
  // Runs started before local bookkeeping schedule startRun, enterStage, listPendingDocuments,
  // finishRun (and the rest) on the workflows queue and archiveIsCurrent on the deploy queue
  // (docs/WORKFLOW-CHANGES.md).
  const bookkeepsLocally = consolidated || patched(localBookkeepingPatch);
  const limits: FanOutLimits = { ...defaultFanOutLimits, ...input.limits };
  const { fetch, extraction, deploy, ...activities } = activitiesFor(input.queues);
  const bookkeeping: SiteBookkeeping = bookkeepsLocally ? activities.local.bookkeeping : activities.bookkeeping;
  const archiveIsCurrent = bookkeepsLocally ? activities.local.archiveIsCurrent : deploy.archiveIsCurrent;
  const { subdomain } = input;
  const status: SiteStatus = input.resume?.status ?? newStatus(subdomain);
  status.publications ??= { fast: null, full: null };
  const pagesInFlight = new PagesInFlight();
  /** The fetch left no document to read: the OCR stage is skipped (runs with keepsCurrentArchive only). */
  let nothingToRead = false;
  /** The OCR stage's write to Postgres, when it goes out alongside the stage's first step (readsDocuments). */
  let enteringOcr: Promise<void> | undefined;
  setHandler(statusQuery, () => ({ ...status, pages: addCounts(status.pages, pagesInFlight.counts()) }));
  setHandler(documentProgressSignal, (progress) => pagesInFlight.record(progress));

  /** Publishes one variant and records it in the status; a failure is recorded, then thrown. */
  const publish = async (variant: 'fast' | 'full'): Promise<void> => {
    try {
      const published = await deploy.deployArchive({ subdomain, variant });
      setPublication(status, variant, {
        state: 'published',
        version: published.version,
        sha256: published.sha256,
        pages: published.pages,
        entities: published.entities,
        votes: published.votes,
        publishedAt: published.publishedAt,
      });
      status.deployed = variant;
    } catch (error) {
      if (error instanceof ActivityFailure && !isCancellation(error)) {
        setPublication(status, variant, { state: 'failed', error: describeFailure(error).error });
      }
      throw error;
    }
  };

  const completeRun = async (): Promise<SiteStatus> => {
    status.stage = 'completed';
    touch(status);
    upsertSearchAttributes([{ key: stageSearchAttribute, value: 'completed' }]);
    await bookkeeping.finishRun({ subdomain, stage: 'completed' });
    return status;
  };

  /** The stage in the status and the search attribute; Postgres's stage is the activity's (or startRun's). */
  const showStage = (stage: SiteStage): void => {
    status.stage = stage;
    touch(status);
    upsertSearchAttributes([{ key: stageSearchAttribute, value: stage }]);
  };

  const enterStage = async (stage: SiteStage): Promise<void> => {
    showStage(stage);
    await bookkeeping.enterStage({ subdomain, stage });
  };

  try {
    if (!input.resume) {
      const run = { workflowId: workflowInfo().workflowId, runId: workflowInfo().runId };
      // Since startsInFetch a run that fetches has its fetch record its start.
      if (!startsInFetch || input.failedOnly) await bookkeeping.startRun({ subdomain, ...run });
      if (input.failedOnly) {
        // A failed-only retry: only runs started with this input take this path, so the histories
        // of older runs (which lack it) replay the fetch path unchanged.
        status.documents = input.failedOnly.settled.documents;
        status.pages = input.failedOnly.settled.pages;
        await enterStage('ocr');
      } else {
        // Since listsInFirstTask a run first reads its listing in this workflow task (a local
        // activity), and only a site with something to download schedules fetchSite (--full, which
        // downloads everything again, goes straight there). The search attribute shows the fetch
        // stage only then: an upsert is a write to the visibility store, and an unchanged site's
        // whole run is this one task, whose end upserts the stage it ends in anyway.
        let listed: Awaited<ReturnType<typeof activities.local.fetchSiteIfNothingToDownload>> | undefined;
        if (listsInFirstTask && !input.full) {
          status.stage = 'fetch';
          touch(status);
          listed = await activities.local.fetchSiteIfNothingToDownload({ subdomain, startsRun: run }).catch((error: unknown) => {
            // The check returns its own failures as reasons; this is the check itself lost (its one
            // attempt timed out, with Postgres hanging, say): fetchSite, with its retries, goes on.
            if (!(error instanceof ActivityFailure) || isCancellation(error)) throw error;
            return undefined;
          });
        }
        let snapshot: SettledSnapshot;
        if (listed?.fetched) {
          snapshot = listed;
        } else {
          // startRun already records the fetch stage in Postgres; older runs asked again.
          if (keepsCurrentArchive) showStage('fetch');
          else await enterStage('fetch');
          snapshot = await fetch.fetchSite({ subdomain, ...(input.full ? { full: true } : {}), ...(startsInFetch ? { startsRun: run } : {}) });
        }
        status.documents = snapshot.documents;
        status.pages = snapshot.pages;
        // Nothing to read (most runs of a nightly fleet): no OCR stage at all.
        nothingToRead = keepsCurrentArchive && snapshot.documents.done + snapshot.documents.failed === snapshot.documents.total;
        if (!nothingToRead) {
          // Since readsDocuments the stage's write runs alongside the stage's listing, in the same workflow task.
          if (readsDocuments) enteringOcr = enterStage('ocr');
          else await enterStage('ocr');
        }
      }
    }

    const read = nothingToRead
      ? undefined
      : await alongside(
          enteringOcr,
          ocrEveryDocument(input, limits, status, bookkeeping, {
            pagesInFlight: reportsLive ? pagesInFlight : undefined,
            listsOnlyWhileFull: consolidated,
            readsDocuments,
          }),
        );

    // An unchanged site: the live archive was compiled from exactly these rows, so there is nothing
    // to extract, compile or publish. `--full` and failed-only retries always rebuild. Since
    // readsDocuments a run that has just read a document's pages knows the site changed and does
    // not ask.
    const readNewPages = readsDocuments && (read?.documentsWithPagesDone ?? 0) > 0;
    if (keepsCurrentArchive && !input.full && !input.failedOnly && !readNewPages) {
      // Since startsInFetch the same step records the run's end when it keeps the archive.
      const live = startsInFetch ? await activities.local.keepArchiveIfCurrent({ subdomain }) : await archiveIsCurrent({ subdomain });
      if (live.current) {
        status.archiveKept = { version: live.version, reason: live.reason };
        status.branches = { fast: 'skipped', full: 'skipped' };
        if (!startsInFetch) return await completeRun();
        showStage('completed');
        return status;
      }
    }

    // Since readsDocuments each stage's write to Postgres runs alongside the stage's first step.
    const enteringExtraction = readsDocuments ? enterStage('extraction') : undefined;
    if (!enteringExtraction) await enterStage('extraction');
    await alongside(
      enteringExtraction,
      Promise.all([
        runBranch(status, 'fast', async () => {
          await extraction.compileArchive({ subdomain, variant: 'fast' });
          if (publishesEarly) await publishFastPathEarly(status, publish);
        }),
        runBranch(status, 'full', async () => {
          await extraction.extractEntities({ subdomain });
          await extraction.compileArchive({ subdomain, variant: 'full' });
        }),
      ]),
    );
    const variant = status.branches.full === 'done' ? 'full' : status.branches.fast === 'done' ? 'fast' : null;
    if (!variant) throw new Error('both extraction branches failed; nothing to deploy');

    const enteringDeploy = readsDocuments ? enterStage('deploy') : undefined;
    if (!enteringDeploy) await enterStage('deploy');
    if (!publishesEarly) {
      await deploy.deployArchive({ subdomain, variant });
      status.deployed = variant;
    } else if (variant === 'full' || status.publications.fast?.state !== 'published') {
      // The full archive replaces the early one; without it, the fast one is deployed here unless
      // it already went out early. A failure here fails the run.
      await alongside(enteringDeploy, publish(variant));
    } else {
      await enteringDeploy;
    }

    return await completeRun();
  } catch (error) {
    if (error instanceof ContinueAsNew) throw error;
    if (isCancellation(error)) {
      // `clerk cancel`: the windows have let the children and activities in flight stop, so the
      // end is recorded over tables nothing writes to any more; unread pages stay pending.
      status.stage = 'cancelled';
      touch(status);
      await CancellationScope.nonCancellable(async () => {
        upsertSearchAttributes([{ key: stageSearchAttribute, value: 'cancelled' }]);
        await bookkeeping.finishRun({ subdomain, stage: 'cancelled' });
      });
      throw error;
    }
    const failedStage = status.stage;
    status.stage = 'failed';
    status.error = describeFailure(error).error;
    touch(status);
    await CancellationScope.nonCancellable(async () => {
      upsertSearchAttributes([{ key: stageSearchAttribute, value: 'failed' }]);
      await bookkeeping.finishRun({ subdomain, stage: 'failed', error: status.error ?? undefined, errorStage: failedStage });
    });
    throw error;
  }
}

/**
 * The OCR stage: pages through the site's unread documents and reads each, at most
 * `documentsInFlight` at a time: with `readsDocuments` (runs since documentReadsInSiteRunPatch) its
 * text layer here and a child workflow only for its pages to OCR, else a child for the whole document. When the history grows long it waits for the children
 * in flight and continues as new from the last document started. With `pagesInFlight`, the
 * children report their pages as they go. With `listsOnlyWhileFull` (runs with the consolidated
 * patch) a listing shorter than a page is the last one: the children it starts are not held back
 * by one more look at an empty list, which their start commands would wait for.
 */
async function ocrEveryDocument(
  input: SiteWorkflowInput,
  limits: FanOutLimits,
  status: SiteStatus,
  bookkeeping: SiteBookkeeping,
  options: { pagesInFlight: PagesInFlight | undefined; listsOnlyWhileFull: boolean; readsDocuments: boolean },
): Promise<{ documentsWithPagesDone: number }> {
  const { subdomain } = input;
  const { pagesInFlight } = options;
  const window = new SlidingWindow(limits.documentsInFlight);
  let afterDocumentId = input.resume?.afterDocumentId ?? null;
  let documentsWithPagesDone = 0;

  for (let listedAll = false; !listedAll; ) {
    const documentIds = await bookkeeping.listPendingDocuments({ subdomain, afterDocumentId, limit: DOCUMENTS_PER_LISTING });
    if (documentIds.length === 0) break;
    listedAll = options.listsOnlyWhileFull && documentIds.length < DOCUMENTS_PER_LISTING;
    for (const documentId of documentIds) {
      if (historyIsLong(limits)) {
        await window.drain();
        await condition(allHandlersFinished);
        await continueAsNew<typeof siteWorkflow>({ ...input, resume: { status, afterDocumentId } });
      }
      afterDocumentId = documentId;
      await window.start(async () => {
        pagesInFlight?.open(documentId);
        const outcome = options.readsDocuments
          ? await readDocumentHere(input, limits, documentId, bookkeeping, pagesInFlight)
          : await readDocument(input, limits, documentId, bookkeeping, pagesInFlight !== undefined);
        // The outcome replaces whatever the child reported: its pages are settled now.
        pagesInFlight?.close(documentId);
        addOutcome(status, outcome);
        if (outcome.status === 'done' && outcome.pagesDone > 0) documentsWithPagesDone++;
      });
    }
  }
  await window.drain();
  return { documentsWithPagesDone };
}

/**
 * One document, read by the run itself (runs with documentReadsInSiteRunPatch): its text layer in
 * one activity, which settles a document with nothing to OCR; a child OCRs the rest of its pages.
 * A failed read is recorded on the document, as the child records it in older runs.
 */
async function readDocumentHere(
  input: SiteWorkflowInput,
  limits: FanOutLimits,
  documentId: string,
  bookkeeping: SiteBookkeeping,
  pagesInFlight: PagesInFlight | undefined,
): Promise<DocumentOutcome> {
  const { subdomain } = input;
  const readTextLayer = activitiesFor(input.queues).ocr.readTextLayerOf(documentId);
  const read = await readTextLayerOrSettle(() => readTextLayer({ subdomain, documentId, settleWhenRead: true }), bookkeeping, { subdomain, documentId });
  if ('failed' in read) return read.failed;
  if (read.layer.outcome) return read.layer.outcome;
  const { pageCount, pagesToOcr } = read.layer;
  pagesInFlight?.record({ documentId, part: 'text-layer', pages: { total: pageCount, done: pageCount - pagesToOcr.length, failed: 0 } });
  return readDocument(input, limits, documentId, bookkeeping, pagesInFlight !== undefined, { pageCount, pagesToOcr });
}

async function readDocument(
  input: SiteWorkflowInput,
  limits: FanOutLimits,
  documentId: string,
  bookkeeping: SiteBookkeeping,
  reportsLive: boolean,
  textLayer?: DocumentWorkflowInput['textLayer'],
): Promise<DocumentOutcome> {
  const { subdomain } = input;
  try {
    return await executeChild(documentWorkflow, {
      workflowId: `${workflowInfo().workflowId}/doc/${documentId}`,
      taskQueue: input.queues.workflows,
      args: [{ subdomain, documentId, queues: input.queues, limits, ...(reportsLive ? { progressTo: workflowInfo().workflowId } : {}), ...(textLayer ? { textLayer } : {}) }],
      ...(reportsLive ? { typedSearchAttributes: ocrChildSearchAttributes(subdomain, 'document') } : {}),
    });
  } catch (error) {
    // The child records its own failures; this is the case where the child itself died.
    if (!(error instanceof ChildWorkflowFailure) || isCancellation(error)) throw error;
    await bookkeeping.markDocumentFailed({ subdomain, documentId, ...describeFailure(error) });
    return bookkeeping.finishDocument({ subdomain, documentId });
  }
}

/**
 * A stage's write to Postgres, started alongside the stage's first step so both go out in the same
 * workflow task (runs with documentReadsInSiteRunPatch). Waits for both, so the write never lands
 * after the run's end is recorded, then throws the step's failure, else the write's.
 */
async function alongside<T>(write: Promise<void> | undefined, step: Promise<T>): Promise<T> {
  if (!write) return step;
  const [written, stepped] = await Promise.allSettled([write, step]);
  if (stepped.status === 'rejected') throw stepped.reason;
  if (written.status === 'rejected') throw written.reason;
  return stepped.value;
}

/**
 * The fast path's early publication. Its failure (a failing deploy hook, say) is recorded in the
 * status and the run goes on: the full path's publication is the one the run stands or falls by.
 */
async function publishFastPathEarly(status: SiteStatus, publish: (variant: 'fast') => Promise<void>): Promise<void> {
  try {
    await publish('fast');
  } catch (error) {
    if (!(error instanceof ActivityFailure) || isCancellation(error)) throw error;
    status.error = `fast path publication: ${describeFailure(error).error}`;
    touch(status);
  }
}

function setPublication(status: SiteStatus, variant: 'fast' | 'full', publication: Publication): void {
  status.publications ??= { fast: null, full: null };
  status.publications[variant] = publication;
  touch(status);
}

async function runBranch(status: SiteStatus, branch: 'fast' | 'full', work: () => Promise<void>): Promise<void> {
  setBranch(status, branch, 'running');
  try {
    await work();
    setBranch(status, branch, 'done');
  } catch (error) {
    // Only a failed activity fails a branch; a bug or a cancellation fails the workflow task.
    if (!(error instanceof ActivityFailure) || isCancellation(error)) throw error;
    setBranch(status, branch, 'failed');
    status.error = `${branch} path: ${describeFailure(error).error}`;
  }
}

function setBranch(status: SiteStatus, branch: 'fast' | 'full', state: BranchState): void {
  status.branches[branch] = state;
  touch(status);
}

function addOutcome(status: SiteStatus, outcome: DocumentOutcome): void {
  if (outcome.status === 'done') status.documents.done++;
  else status.documents.failed++;
  status.pages.total += outcome.pages;
  status.pages.done += outcome.pagesDone;
  status.pages.failed += outcome.pagesFailed;
  touch(status);
}

/**
 * The page counts of the documents whose children are running, part by part as they report them
 * (documentProgressSignal). A document is in flight from its child's start until its outcome is
 * counted in the status; reports about any other document (a late or repeated one) are ignored.
 * Empty whenever the site continues as new, because the window is drained first.
 */
class PagesInFlight {
  private readonly documents = new Map<string, Map<string, Counts>>();

  open(documentId: string): void {
    this.documents.set(documentId, new Map());
  }

  close(documentId: string): void {
    this.documents.delete(documentId);
  }

  record(progress: DocumentProgress): void {
    const parts = this.documents.get(progress.documentId);
    if (!parts) return;
    // A part's counts only grow: the larger of two reports is the newer one, whatever their order.
    const known = parts.get(progress.part) ?? { total: 0, done: 0, failed: 0 };
    parts.set(progress.part, {
      total: Math.max(known.total, progress.pages.total),
      done: Math.max(known.done, progress.pages.done),
      failed: Math.max(known.failed, progress.pages.failed),
    });
  }

  counts(): Counts {
    let sum: Counts = { total: 0, done: 0, failed: 0 };
    for (const parts of this.documents.values()) for (const counts of parts.values()) sum = addCounts(sum, counts);
    return sum;
  }
}

function addCounts(a: Counts, b: Counts): Counts {
  return { total: a.total + b.total, done: a.done + b.done, failed: a.failed + b.failed };
}

function historyIsLong(limits: FanOutLimits): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength >= limits.continueAsNewAfterEvents;
}

function newStatus(subdomain: string): SiteStatus {
  const now = new Date().toISOString();
  const zero = (): Counts => ({ total: 0, done: 0, failed: 0 });
  return {
    subdomain,
    stage: 'queued',
    documents: zero(),
    pages: zero(),
    branches: { fast: 'pending', full: 'pending' },
    deployed: null,
    publications: { fast: null, full: null },
    error: null,
    startedAt: now,
    updatedAt: now,
  };
}

function touch(status: SiteStatus): void {
  status.updatedAt = new Date().toISOString();
}
