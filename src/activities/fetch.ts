import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { pdfKey } from '../archive/layout.js';
import { metrics } from '../metrics/index.js';
import type { DocumentRow } from '../db/schema.js';
import { fetcherRegistry, FetchError, UnknownFetcherError, type DiscoveredDocument, type Fetcher, type HttpClient, type SiteSource } from '../fetchers/index.js';
import { planFetch, type FetchPlan } from '../fetchers/plan.js';
import { incrementalSince, openSite, type OpenSite } from '../fetchers/site-settings.js';
import { sha256File } from '../fetchers/hash.js';
import { noteRefetchFailure, recordFetchedDocument, recordUndownloadableDocument, recordUnchangedDocument, requeueUnfinishedDocuments } from '../progress/documents.js';
import { settledCounts, startRun, type SettledCounts } from '../progress/site-progress.js';
import { getSite, markFetched, recordListingRejections } from '../sites/repository.js';
import { failForUnknownSite } from './bookkeeping.js';
import type { ActivityDeps } from './deps.js';
import { withHeartbeats } from './heartbeat.js';
import { tracked } from './tracking.js';

/**
 * How long a site run's listing check (fetchSiteIfNothingToDownload, a local activity in the run's
 * first workflow task) may take, listing and conditional requests together, before it leaves the
 * fetch to fetchSite: inside the workflow task's 10 s timeout, so a slow site never holds the task
 * open; fetchSite then reads the listing again, with heartbeats and retries.
 */
export const LISTING_CHECK_DEADLINE_MS = 5_000;

/** Documents handled at once; the site's HTTP client still limits requests per host. */
const DOCUMENTS_IN_PARALLEL = 4;

export function documentIdOf(subdomain: string, doc: Pick<DiscoveredDocument, 'kind' | 'meetingSlug' | 'date' | 'part'>): string {
  return `${subdomain}:${doc.kind}:${doc.meetingSlug}:${doc.date}${doc.part ? `:${doc.part}` : ''}`;
}

/** What one fetch did, for the run's history and for tests: downloads are the expensive part. */
export interface FetchReport {
  listed: number;
  rejected: number;
  downloaded: number;
  /** Known documents not downloaded: the platform's version was the same, or the server said 304. */
  unchanged: number;
  failed: number;
  /** Documents clerk already had whose reading failed or had failed pages: read again this run. */
  requeued: number;
  /** The first meeting date asked for; null when the whole history was read. */
  since: string | null;
}

/** A site fetched: what its run settles from (SettledCounts) and what the fetch did. */
export type FetchedSite = SettledCounts & { fetched: true; fetch: FetchReport };

export interface FetchSiteInput {
  subdomain: string;
  /** Read the whole history and re-check every document (`clerk enqueue --full`). */
  full?: boolean;
  /**
   * The site run this fetch begins (runs started since the `site-run-start-in-fetch` patch): its
   * start is recorded in site_progress before the listing is read, instead of by a step of its own.
   * Recording it again on a retry is harmless: the row is set, then recounted from the tables.
   */
  startsRun?: { workflowId: string; runId: string };
}

/** When the fetch that starts a run was first scheduled (retries keep it); now, if that is unknown or ahead of this host's clock. */
function runStartOf(info: { scheduledTimestampMs: number }): Date {
  const now = Date.now();
  return new Date(Number.isFinite(info.scheduledTimestampMs) ? Math.min(info.scheduledTimestampMs, now) : now);
}

export function createFetchActivities(deps: ActivityDeps) {
  const { db, store, config } = deps;

  /**
   * Lists the site's documents through its platform's fetcher and downloads the new and changed
   * ones into the store. Only meetings since the last successful fetch (less the look-back) are
   * asked for, and a known document is downloaded again only when the platform says it changed.
   * A document that cannot be downloaded is recorded as failed; only a listing that cannot be
   * read fails the stage.
   */
  async function fetchSite(input: FetchSiteInput): Promise<FetchedSite> {
    const fetched = await fetchListedSite(input, { downloads: true, signal: Context.current().cancellationSignal });
    if (!fetched.fetched) throw new Error(`fetchSite stopped before its downloads: ${fetched.reason}`);
    return fetched;
  }

  /**
   * The fetch of a site whose listing has nothing to download (most runs of a nightly refresh), as
   * the site run's local activity: the listing is read and recorded as fetchSite would, in the run's
   * first workflow task, with no fetch activity to schedule. When a document must be downloaded or
   * has changed, when the listing cannot be read, or when it all takes longer than
   * LISTING_CHECK_DEADLINE_MS, the reason is returned: the run then schedules fetchSite on the fetch
   * queue, which downloads, retries and fails exactly as it always has (so a failing listing is
   * reported once, by fetchSite), and records again what this recorded before it found out (the
   * run's start, which keeps its first time, and any documents already found unchanged).
   */
  async function fetchSiteIfNothingToDownload(input: FetchSiteInput): Promise<FetchedSite | { fetched: false; reason: string }> {
    const cancelled = Context.current().cancellationSignal;
    const deadline = AbortSignal.timeout(LISTING_CHECK_DEADLINE_MS);
    try {
      return await fetchListedSite(input, { downloads: false, signal: AbortSignal.any([cancelled, deadline]) });
    } catch (error) {
      if (cancelled.aborted) throw error;
      if (deadline.aborted) return { fetched: false, reason: `the listing took longer than ${LISTING_CHECK_DEADLINE_MS / 1000} s` };
      return { fetched: false, reason: error instanceof Error ? error.message : String(error) };
    }
  }

  /** fetchSite, or with `downloads: false` the listing check above. */
  async function fetchListedSite(input: FetchSiteInput, mode: { downloads: boolean; signal: AbortSignal }): Promise<FetchedSite | { fetched: false; reason: string }> {
    const context = Context.current();
    const startedAt = new Date();
    const site = await getSite(db, input.subdomain).catch(failForUnknownSite);
    // A site never fetched has every document to download: the check need not list it, nor record
    // the run's start, which fetchSite does next.
    if (!mode.downloads && site.last_fetched_at === null) return { fetched: false, reason: 'the site was never fetched' };
    // The run began when its fetch was first scheduled: before this activity's own job_tracking
    // rows, which `clerk failures` looks for from the run's start on.
    if (input.startsRun) await startRun(db, { subdomain: site.subdomain, ...input.startsRun, startedAt: runStartOf(context.info) });
    let opened: OpenSite;
    try {
      opened = openSite(site, await fetcherRegistry(config.fetcherPlugins));
    } catch (error) {
      if (error instanceof UnknownFetcherError) throw ApplicationFailure.nonRetryable(error.message, 'UnknownFetcher');
      throw error;
    }
    const { fetcher, source, http, context: fetchContext } = opened;
    const since = input.full ? undefined : incrementalSince(site);
    // A local activity (the check) cannot heartbeat, and its deadline is shorter than a heartbeat's.
    const beating = <T>(work: () => Promise<T>): Promise<T> => (mode.downloads ? withHeartbeats(work) : work());
    const discovery = await beating(() => fetcher.discover(source, { since, signal: mode.signal }, fetchContext)).catch((error: unknown) => {
      if (error instanceof FetchError && error.permanent) throw ApplicationFailure.nonRetryable(`${site.fetcher} listing of ${site.subdomain}: ${error.message}`, error.name);
      throw error;
    });
    const known = new Map((await db.selectFrom('documents').selectAll().where('subdomain', '=', site.subdomain).execute()).map((row) => [row.id, row]));
    if (!mode.downloads) {
      const toDownload = discovery.documents.filter((doc) => planFetch(doc, known.get(documentIdOf(site.subdomain, doc)), input.full ?? false) === 'download').length;
      if (toDownload > 0) return { fetched: false, reason: `${toDownload} listed documents to download` };
    }
    const report: FetchReport = { listed: discovery.documents.length, rejected: discovery.rejected.length, downloaded: 0, unchanged: 0, failed: 0, requeued: 0, since: since ?? null };
    const queue = [...discovery.documents];
    let changed = 0;
    const worker = async () => {
      for (let doc = queue.shift(); doc; doc = queue.shift()) {
        const id = documentIdOf(site.subdomain, doc);
        const outcome = await fetchDocument(source, fetcher, http, doc, known.get(id), { full: input.full ?? false, downloads: mode.downloads, signal: mode.signal });
        if (outcome === 'changed') {
          // The check stops at the first changed document; fetchSite goes through them all again.
          changed++;
          queue.length = 0;
        } else {
          report[outcome]++;
        }
      }
    };
    await beating(() => Promise.all(Array.from({ length: DOCUMENTS_IN_PARALLEL }, worker)));
    if (changed > 0) return { fetched: false, reason: 'a listed document changed since its last download' };
    await recordListingRejections(db, site.subdomain, discovery.rejected);
    for (const rejected of discovery.rejected) {
      context.log.warn('rejected a listing entry', { subdomain: site.subdomain, url: rejected.url, reason: rejected.reason });
    }
    // An incremental listing may not reach back to a document whose reading failed last time.
    report.requeued = await requeueUnfinishedDocuments(db, site.subdomain);
    await markFetched(db, site.subdomain, startedAt);
    context.log.info('fetched site', { subdomain: site.subdomain, ...report });
    return { fetched: true, ...(await settledCounts(db, site.subdomain)), fetch: report };
  }

  async function fetchDocument(
    site: SiteSource,
    fetcher: Fetcher,
    http: HttpClient,
    doc: DiscoveredDocument,
    known: DocumentRow | undefined,
    options: { full: boolean; downloads: boolean; signal: AbortSignal },
  ): Promise<'downloaded' | 'unchanged' | 'failed' | 'changed'> {
    const { full, signal } = options;
    const subdomain = site.subdomain;
    const record = {
      id: documentIdOf(subdomain, doc),
      subdomain,
      kind: doc.kind,
      meeting: doc.meeting,
      meetingSlug: doc.meetingSlug,
      date: doc.date,
      part: doc.part ?? '',
      sourceUrl: doc.url,
      storageKey: pdfKey({ subdomain, kind: doc.kind, meetingSlug: doc.meetingSlug, date: doc.date, part: doc.part }),
      listedVersion: doc.version ?? null,
    };
    const plan: FetchPlan = planFetch(doc, known, full);
    if (plan === 'skip') {
      await recordUnchangedDocument(db, record.id, doc.version ?? null);
      return 'unchanged';
    }
    if (!options.downloads) {
      // The listing check: a conditional request's 304 is all it needs to know (never a download).
      const unchanged = !fetcher.copyDocument && (await http.isNotModified(doc.url, { etag: known?.etag, lastModified: known?.last_modified, signal }));
      if (!unchanged) return 'changed';
      await recordUnchangedDocument(db, record.id, doc.version ?? null);
      return 'unchanged';
    }
    const temporary = path.join(config.dataDir, 'tmp', 'downloads', `${randomUUID()}.pdf`);
    try {
      let validators = { etag: null as string | null, lastModified: null as string | null };
      let sha256: string;
      let bytes: number;
      if (fetcher.copyDocument) {
        await fetcher.copyDocument(site, doc, temporary);
        ({ sha256, bytes } = await sha256File(temporary));
      } else {
        const result = await http.download(doc.url, {
          destination: temporary,
          maxBytes: config.maxDownloadBytes,
          signal,
          ...(plan === 'conditional' ? { etag: known?.etag, lastModified: known?.last_modified } : {}),
        });
        if (result.status === 'not-modified') {
          await recordUnchangedDocument(db, record.id, doc.version ?? null);
          return 'unchanged';
        }
        ({ sha256, bytes } = result);
        validators = { etag: result.etag, lastModified: result.lastModified };
      }
      await store.putFile(record.storageKey, temporary);
      await recordFetchedDocument(db, { ...record, contentSha256: sha256, byteSize: bytes, ...validators });
      metrics.documentFetched(bytes);
      return 'downloaded';
    } catch (error) {
      if (!(error instanceof FetchError) || signal.aborted) throw error;
      if (known && known.content_sha256) await noteRefetchFailure(db, known.id, error.message);
      else await recordUndownloadableDocument(db, record, { reason: error.reason, error: error.message });
      return 'failed';
    } finally {
      await fs.rm(temporary, { force: true });
    }
  }

  return { fetchSite: tracked(deps, 'fetch', fetchSite), fetchSiteIfNothingToDownload: tracked(deps, 'fetch', fetchSiteIfNothingToDownload) };
}

export type FetchActivities = ReturnType<typeof createFetchActivities>;
