import { createHash } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { pdfKey } from '../archive/layout.js';
import { fetcherFor, FetchError, httpGet, type DiscoveredDocument } from '../fetchers/index.js';
import { recordFetchedDocument, recordUndownloadableDocument } from '../progress/documents.js';
import { settledCounts, type SettledCounts } from '../progress/site-progress.js';
import { getSite } from '../sites/repository.js';
import { failForUnknownSite } from './bookkeeping.js';
import type { ActivityDeps } from './deps.js';
import { withHeartbeats } from './heartbeat.js';
import { tracked } from './tracking.js';

const DOWNLOAD_TIMEOUT_MS = 120_000;
const DOWNLOADS_IN_PARALLEL = 4;
const TRANSIENT_TRIES = 3;

export function documentIdOf(subdomain: string, doc: Pick<DiscoveredDocument, 'kind' | 'meetingSlug' | 'date'>): string {
  return `${subdomain}:${doc.kind}:${doc.meetingSlug}:${doc.date}`;
}

export function createFetchActivities(deps: ActivityDeps) {
  const { db, store, config } = deps;

  /**
   * Lists the site's documents and downloads the new and changed ones into the store. A document
   * that cannot be downloaded is recorded as failed; only an unreachable index fails the stage.
   */
  async function fetchSite(input: { subdomain: string }): Promise<SettledCounts> {
    const context = Context.current();
    const site = await getSite(db, input.subdomain).catch(failForUnknownSite);
    const discovery = await fetcherFor(site.fetcher)
      .discover({ subdomain: site.subdomain, fetcher: site.fetcher, sourceUrl: site.source_url }, context.cancellationSignal)
      .catch((error: unknown) => {
        if (error instanceof FetchError && error.permanent) throw ApplicationFailure.nonRetryable(error.message, 'FetchError');
        throw error;
      });
    for (const rejected of discovery.rejected) {
      context.log.warn('skipped a listing the site index gave', { subdomain: site.subdomain, url: rejected.url, reason: rejected.reason });
    }

    const allowedHost = new URL(site.source_url).host;
    const queue = [...discovery.documents];
    const worker = async () => {
      for (let doc = queue.shift(); doc; doc = queue.shift()) {
        await fetchDocument(site.subdomain, doc, allowedHost, context.cancellationSignal);
      }
    };
    await withHeartbeats(() => Promise.all(Array.from({ length: DOWNLOADS_IN_PARALLEL }, worker)));
    return settledCounts(db, site.subdomain);
  }

  async function fetchDocument(subdomain: string, doc: DiscoveredDocument, allowedHost: string, signal: AbortSignal): Promise<void> {
    const identity = { subdomain, kind: doc.kind, meetingSlug: doc.meetingSlug, date: doc.date };
    const record = {
      id: documentIdOf(subdomain, doc),
      subdomain,
      kind: doc.kind,
      meeting: doc.meeting,
      meetingSlug: doc.meetingSlug,
      date: doc.date,
      sourceUrl: doc.url,
      storageKey: pdfKey(identity),
    };
    let data: Buffer;
    try {
      data = await downloadWithRetries(doc.url, { maxBytes: config.maxDownloadBytes, timeoutMs: DOWNLOAD_TIMEOUT_MS, allowedHost, signal });
    } catch (error) {
      if (!(error instanceof FetchError)) throw error;
      await recordUndownloadableDocument(db, record, { reason: 'download-failed', error: error.message });
      return;
    }
    const contentSha256 = createHash('sha256').update(data).digest('hex');
    await store.put(record.storageKey, data);
    await recordFetchedDocument(db, { ...record, contentSha256, byteSize: data.byteLength });
  }

  return { fetchSite: tracked(deps, 'fetch', fetchSite) };
}

async function downloadWithRetries(url: string, options: Parameters<typeof httpGet>[1]): Promise<Buffer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await httpGet(url, options);
    } catch (error) {
      if (!(error instanceof FetchError) || error.permanent || attempt >= TRANSIENT_TRIES) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1_000 * 2 ** attempt));
    }
  }
}

export type FetchActivities = ReturnType<typeof createFetchActivities>;
