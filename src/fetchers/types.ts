import type { DocumentKind } from '../db/schema.js';

/** A document a fetcher found on a site, already validated and safe to name folders after. */
export interface DiscoveredDocument {
  kind: DocumentKind;
  meeting: string;
  meetingSlug: string;
  date: string;
  url: string;
}

/** A listing entry the fetcher could not accept, kept so the run can record it. */
export interface RejectedListing {
  url: string;
  reason: string;
}

export interface Discovery {
  documents: DiscoveredDocument[];
  rejected: RejectedListing[];
}

export interface SiteSource {
  subdomain: string;
  fetcher: string;
  sourceUrl: string;
}

export interface Fetcher {
  discover(site: SiteSource, signal?: AbortSignal): Promise<Discovery>;
}

/** `permanent` failures (404, a redirect off-site, an oversize file) are not worth retrying. */
export class FetchError extends Error {
  override name = 'FetchError';
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
  }
}
