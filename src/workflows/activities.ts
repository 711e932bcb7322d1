import { ActivityCancellationType, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { BookkeepingActivities } from '../activities/bookkeeping.js';
import type { ArchiveFreshnessActivities, DeployActivities } from '../activities/deploy.js';
import type { ExtractionActivities } from '../activities/extraction.js';
import type { FetchActivities } from '../activities/fetch.js';
import type { OcrActivities } from '../activities/ocr.js';
import { documentReadActivityId, type TaskQueues } from './types.js';

/**
 * Every activity the workflows call, each on its worker type's task queue, with timeouts stated
 * once. Bookkeeping retries without limit: a Postgres outage only delays a run, never loses it.
 *
 * A cancelled run (`clerk cancel`) waits for each of its activities that writes pages, documents,
 * the stage or a deployment to stop (WAIT_CANCELLATION_COMPLETED): OCR and fetch stop at their
 * next heartbeat, the others finish their step. So the run records its end after
 * the last write, and a later run never races a leftover one. Extraction alone is abandoned at
 * once (TRY_CANCEL, the default): it ignores cancellation, can run for an hour, and writes only
 * entities and an archive file, which the next run writes again. Local activities
 * (`local`) wait for cancellation the same way.
 */
export function activitiesFor(queues: TaskQueues) {
  const waitForStop = ActivityCancellationType.WAIT_CANCELLATION_COMPLETED;
  const bookkeeping = proxyActivities<BookkeepingActivities>({
    taskQueue: queues.workflows,
    cancellationType: waitForStop,
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
  });
  // Long activities heartbeat on a timer every 5 s, so a dead worker is noticed within 30 s.
  const fetch = proxyActivities<FetchActivities>({
    taskQueue: queues.fetch,
    cancellationType: waitForStop,
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: '30 seconds',
    retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 5 },
  });
  const readTextOptions = {
    taskQueue: queues.ocr,
    cancellationType: waitForStop,
    startToCloseTimeout: '15 minutes',
    heartbeatTimeout: '30 seconds',
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
  } as const;
  const readText = proxyActivities<Pick<OcrActivities, 'readTextLayer'>>(readTextOptions);
  const ocrPages = proxyActivities<Pick<OcrActivities, 'ocrPage'>>({
    taskQueue: queues.ocr,
    cancellationType: waitForStop,
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: '20 seconds',
    // Permanent PDF errors never retry; anything else (a database or disk outage) gets several minutes.
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
  });
  const extraction = proxyActivities<ExtractionActivities>({
    taskQueue: queues.extraction,
    startToCloseTimeout: '4 hours',
    heartbeatTimeout: '30 seconds',
    retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 5 },
  });
  const deploy = proxyActivities<DeployActivities>({
    taskQueue: queues.deploy,
    cancellationType: waitForStop,
    // A gigabyte archive's streamed copy plus a remote target's retries (4 attempts of up to 5
    // minutes each, by default) must fit in one attempt.
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: '30 seconds',
    retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 5 },
  });
  // The site run's bookkeeping and its archive check as local activities (runs started since the
  // `local-bookkeeping` patch): they run on the workflows worker inside the workflow task that calls
  // them and are recorded as markers, with no activity task and no extra workflow task on the server.
  // An unchanged site's run then costs the server one activity (fetchSite) and two workflow tasks
  // instead of four and five, which is most of a nightly fleet refresh. Each attempt is short and
  // bounded; a retry whose backoff would pass localRetryThreshold waits on a server timer instead
  // of holding the workflow task open, so bookkeeping still retries without limit through an outage.
  const localBookkeeping = proxyLocalActivities<BookkeepingActivities>({
    cancellationType: waitForStop,
    startToCloseTimeout: '30 seconds',
    localRetryThreshold: '10 seconds',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
  });
  const localFreshness = proxyLocalActivities<ArchiveFreshnessActivities>({
    cancellationType: waitForStop,
    startToCloseTimeout: '1 minute',
    localRetryThreshold: '10 seconds',
    retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 5 },
  });
  // A site run's first look at its listing (runs started since the `site-run-listing-in-first-task`
  // patch): a single attempt, because whatever goes wrong is left to the fetch activity it falls back
  // to, which retries for minutes; a listing that needs longer than a minute is fetched there too.
  const localFetch = proxyLocalActivities<Pick<FetchActivities, 'fetchSiteIfNothingToDownload'>>({
    cancellationType: waitForStop,
    startToCloseTimeout: '1 minute',
    retry: { maximumAttempts: 1 },
  });
  // Activity proxies are Proxy objects: their members must be picked, not spread.
  const ocr = {
    readTextLayer: readText.readTextLayer,
    /**
     * A site run reads all its documents (runs started since `document-reads-in-site-run`): each
     * read's activity id names its document (`read/<document id>`), in the Web UI's history and in
     * job_tracking, where `clerk failures` finds a failed read by it.
     */
    readTextLayerOf: (documentId: string) => proxyActivities<Pick<OcrActivities, 'readTextLayer'>>({ ...readTextOptions, activityId: documentReadActivityId(documentId) }).readTextLayer,
    ocrPage: ocrPages.ocrPage,
  };
  const local = {
    bookkeeping: localBookkeeping,
    archiveIsCurrent: localFreshness.archiveIsCurrent,
    keepArchiveIfCurrent: localFreshness.keepArchiveIfCurrent,
    fetchSiteIfNothingToDownload: localFetch.fetchSiteIfNothingToDownload,
  };
  return { bookkeeping, fetch, ocr, extraction, deploy, local };
}
