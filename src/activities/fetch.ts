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
  async function fetchSite(input: FetchSiteInput): Promise<SettledCounts & { fetch: FetchReport }> {
    const context = Context.current();
    const startedAt = new Date();
    const site = await getSite(db, input.subdomain).catch(failForUnknownSite);
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
    const discovery = await withHeartbeats(() => fetcher.discover(source, { since, signal: context.cancellationSignal }, fetchContext)).catch((error: unknown) => {
      if (error instanceof FetchError && error.permanent) throw ApplicationFailure.nonRetryable(`${site.fetcher} listing of ${site.subdomain}: ${error.message}`, error.name);
      throw error;
    });
    await recordListingRejections(db, site.subdomain, discovery.rejected);
    for (const rejected of discovery.rejected) {
      context.log.warn('rejected a listing entry', { subdomain: site.subdomain, url: rejected.url, reason: rejected.reason });
    }

    const known = new Map((await db.selectFrom('documents').selectAll().where('subdomain', '=', site.subdomain).execute()).map((row) => [row.id, row]));
    const report: FetchReport = { listed: discovery.documents.length, rejected: discovery.rejected.length, downloaded: 0, unchanged: 0, failed: 0, requeued: 0, since: since ?? null };
    const queue = [...discovery.documents];
    const worker = async () => {
      for (let doc = queue.shift(); doc; doc = queue.shift()) {
        const id = documentIdOf(site.subdomain, doc);
        const outcome = await fetchDocument(source, fetcher, http, doc, known.get(id), input.full ?? false, context.cancellationSignal);
        report[outcome]++;
      }
    };
    await withHeartbeats(() => Promise.all(Array.from({ length: DOCUMENTS_IN_PARALLEL }, worker)));
    // An incremental listing may not reach back to a document whose reading failed last time.
    report.requeued = await requeueUnfinishedDocuments(db, site.subdomain);
    await markFetched(db, site.subdomain, startedAt);
    context.log.info('fetched site', { subdomain: site.subdomain, ...report });
    return { ...(await settledCounts(db, site.subdomain)), fetch: report };
  }

  async function fetchDocument(
    site: SiteSource,
    fetcher: Fetcher,
    http: HttpClient,
    doc: DiscoveredDocument,
    known: DocumentRow | undefined,
    full: boolean,
    signal: AbortSignal,
  ): Promise<'downloaded' | 'unchanged' | 'failed'> {
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

  return { fetchSite: tracked(deps, 'fetch', fetchSite) };
}

export type FetchActivities = ReturnType<typeof createFetchActivities>;
