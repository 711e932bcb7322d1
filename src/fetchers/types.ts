import type { DocumentKind } from '../db/schema.js';
import type { HttpClient } from './http.js';
import type { DiscoveryBuilder } from './listing.js';
import type { meetingDateIn, monthNameDate, readDate, usDate } from './meeting.js';

/** A document a fetcher found on a site, already validated and safe to name folders after. */
export interface DiscoveredDocument {
  kind: DocumentKind;
  /** The meeting body as the platform names it, whitespace-normalised ("City Council"). */
  meeting: string;
  /** The meeting simplified for paths, as the original does: "City Council" -> "CityCouncil". */
  meetingSlug: string;
  /** YYYY-MM-DD in the site's own time zone. */
  date: string;
  url: string;
  /**
   * Set only when one listing holds more than one document of the same kind, meeting and date
   * (a 5 pm and a 7 pm session): a short suffix, stable for the same URL, that keeps both.
   */
  part?: string;
  /**
   * What the platform says about the document's version (Legistar's last-modified stamp, a
   * published-at time), when it says anything: a change re-downloads a document already known.
   */
  version?: string;
}

/** A listing entry the fetcher could not accept, kept so the run can record it. */
export interface RejectedListing {
  /** The URL of the document, or of the listing page the bad entry came from. */
  url: string;
  reason: string;
}

export interface Discovery {
  documents: DiscoveredDocument[];
  rejected: RejectedListing[];
}

/** What a fetcher knows of the site it reads: its platform base URL and its settings. */
export interface SiteSource {
  subdomain: string;
  fetcher: string;
  /** `--url`: the platform's base for this site (Legistar: the Web API client URL). */
  baseUrl: string;
  /** `--setting key=value` pairs, validated by the fetcher that reads them. */
  settings: Readonly<Record<string, string>>;
  /** IANA time zone meeting dates are read in (setting `time_zone`, default UTC). */
  timeZone: string;
}

export interface DiscoverOptions {
  /** Only meetings on or after this date (YYYY-MM-DD); unset reads the whole history. */
  since?: string;
  /** Only meetings on or before this date (YYYY-MM-DD); unset means no end. */
  until?: string;
  signal?: AbortSignal;
}

/**
 * The tools a fetcher gets, so a plugin needs nothing from clerk's source: every request goes
 * through the site's safe, polite HTTP client, and the discovery builder shapes what it lists.
 */
export interface FetchContext {
  http: HttpClient;
  /** A builder that validates names and dates, rejects bad entries and applies since/until. */
  discovery(options: Pick<DiscoverOptions, 'since' | 'until'>): DiscoveryBuilder;
  /** Date readers for what platforms print: ISO with or without a zone, MM/DD/YYYY, "Jan 7, 2020", or any of these (readDate). */
  dates: { meetingDateIn: typeof meetingDateIn; usDate: typeof usDate; monthNameDate: typeof monthNameDate; readDate: typeof readDate };
}

/**
 * A platform: how to list one site's agendas and minutes. Discovery downloads no document; the
 * fetch activity downloads what discovery lists, through the same HTTP client.
 */
export interface Fetcher {
  name: string;
  /** One line for `clerk site add --help` and docs. */
  description: string;
  /** The settings this fetcher reads, with what each means; unknown settings are refused. */
  settings?: Readonly<Record<string, string>>;
  /** Hosts a site on this platform may download from besides its URL's host (a file CDN). */
  defaultAllowedHosts?(baseUrl: URL): string[];
  /** Checks settings when a site is added, so a typo fails then, not at 2 am. */
  validateSettings?(settings: Readonly<Record<string, string>>): void;
  discover(site: SiteSource, options: DiscoverOptions, context: FetchContext): Promise<Discovery>;
  /**
   * Copies one discovered document to a local file without HTTP (the `folder` fetcher). Fetchers
   * without it are downloaded over HTTP by the fetch activity.
   */
  copyDocument?(site: SiteSource, document: DiscoveredDocument, destination: string): Promise<void>;
}

/** Why a fetch failed, recorded on the document so operators can group failures. */
export type FetchFailureReason =
  | 'not-found'
  | 'http-error'
  | 'network-error'
  | 'timeout'
  | 'too-large'
  | 'not-pdf'
  | 'empty'
  | 'host-not-allowed'
  | 'bad-url'
  | 'too-many-redirects'
  | 'bad-listing';

/** `permanent` failures (404, a redirect off-site, an oversize file) are not worth retrying. */
export class FetchError extends Error {
  override name = 'FetchError';
  constructor(
    message: string,
    readonly permanent: boolean,
    readonly reason: FetchFailureReason = permanent ? 'http-error' : 'network-error',
  ) {
    super(message);
  }
}

/** A listing the platform returned that does not have the shape its documentation gives. */
export class ListingFormatError extends FetchError {
  override name = 'ListingFormatError';
  constructor(message: string) {
    super(message, true, 'bad-listing');
  }
}
