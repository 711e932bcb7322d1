import { z } from 'zod';
import { redactSecrets, type HttpClient } from './http.js';
import { parseListing } from './json.js';
import { meetingDateIn, parseMeetingDate, printable } from './meeting.js';
import { FetchError, ListingFormatError } from './types.js';

/**
 * What the JSON-API fetchers share. Legistar (OData v3) and CivicClerk (OData v4) are OData
 * services: their queries are built and paged here. PrimeGov is plain JSON and uses only the
 * meeting-date field.
 */

/** One page of an OData collection, with the URL it came from for rejections and errors. */
export interface ODataPage {
  /** The page's URL as it may be shown (a secret query parameter left out). */
  shownUrl: string;
  entries: unknown[];
}

export interface PagingOptions {
  signal?: AbortSignal;
  /** Query parameters sent but never shown in rejections or errors (an API token). */
  secretParams?: readonly string[];
}

/**
 * A zod field that reads a platform's date or date-time as the meeting's date in the site's time
 * zone, so an impossible date ("2023-02-30") rejects its entry with the field named, like any
 * other bad field.
 */
export function meetingDateField(timeZone: string) {
  return z.string().transform((value, context) => {
    try {
      // meetingDateIn converts a value with a zone through Date, which rolls 30 February over to
      // 2 March: the calendar date as written is checked first.
      const written = /^\s*(\d{4}-\d{2}-\d{2})/.exec(value);
      if (written) parseMeetingDate(written[1]!);
      return meetingDateIn(value, timeZone);
    } catch (error) {
      context.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });
}

/** Clauses joined with "and"; undefined when there are none, so no empty $filter is sent. */
export function odataFilter(...clauses: (string | false | undefined)[]): string | undefined {
  const present = clauses.filter((clause): clause is string => typeof clause === 'string' && clause.length > 0);
  return present.length > 0 ? present.join(' and ') : undefined;
}

/**
 * `base` with OData query options added. Spaces are sent as %20 and `$` names kept literal, the
 * way the platforms' own portals write them (some OData servers read "+" literally).
 */
export function odataUrl(base: string, query: Readonly<Record<string, string | number | undefined>>): URL {
  const url = new URL(base);
  const pairs = Object.entries(query)
    .filter((pair): pair is [string, string | number] => pair[1] !== undefined)
    .map(([name, value]) => `${name}=${encodeURIComponent(String(value))}`);
  const existing = url.search.replace(/^\?/, '');
  url.search = [existing, ...pairs].filter(Boolean).join('&');
  return url;
}

/** Far more pages than any real listing has: past it, a server is taken to be paging forever. */
const MAX_PAGES = 10_000;

const bareArrayPage = z.array(z.unknown());

/**
 * Pages through a collection with `$top`/`$skip`, as Legistar needs: its body is a bare array and
 * it says nothing about further pages, so a page shorter than `pageSize` is the last. A server
 * that ignores `$skip` (the same full page again) fails rather than looping forever.
 */
export async function* pagesBySkip(http: HttpClient, url: URL, pageSize: number, options: PagingOptions = {}): AsyncGenerator<ODataPage> {
  let previous: string | undefined;
  for (let skip = 0; ; skip += pageSize) {
    const pageUrl = odataUrl(url.href, { $top: pageSize, $skip: skip });
    const shownUrl = withoutParams(pageUrl, options.secretParams);
    if (skip / pageSize >= MAX_PAGES) throw new ListingFormatError(`${shownUrl}: more than ${MAX_PAGES} pages, and the listing has not ended`);
    const entries = parseListing(bareArrayPage, await getPage(http, pageUrl, shownUrl, options.signal), shownUrl);
    const fingerprint = JSON.stringify(entries);
    if (entries.length > 0 && fingerprint === previous) {
      throw new ListingFormatError(`${shownUrl} answered the same page as $skip=${skip - pageSize}: the server ignores $skip`);
    }
    previous = fingerprint;
    yield { shownUrl, entries };
    if (entries.length < pageSize) return;
  }
}

const nextLinkPage = z.object({
  value: z.array(z.unknown()),
  '@odata.nextLink': z.string().optional(),
});

/**
 * Pages through an OData v4 collection by following `@odata.nextLink`, as CivicClerk needs: the
 * server picks the page size, and a `$top` would cap the whole result rather than size a page.
 */
export async function* pagesByNextLink(http: HttpClient, url: URL, options: PagingOptions = {}): AsyncGenerator<ODataPage> {
  const visited = new Set<string>();
  let next: string | undefined = url.href;
  while (next !== undefined) {
    const pageUrl: URL = new URL(next);
    const shownUrl = withoutParams(pageUrl, options.secretParams);
    if (visited.has(pageUrl.href)) throw new ListingFormatError(`${shownUrl} links back to a page already read: its @odata.nextLink loops`);
    if (visited.size >= MAX_PAGES) throw new ListingFormatError(`${shownUrl}: more than ${MAX_PAGES} pages, and the listing has not ended`);
    visited.add(pageUrl.href);
    const page = parseListing(nextLinkPage, await getPage(http, pageUrl, shownUrl, options.signal), shownUrl);
    yield { shownUrl, entries: page.value };
    next = nextPageUrl(page['@odata.nextLink'], pageUrl, shownUrl);
  }
}

/** GETs a page; an error quoting its URL quotes it as shown, so a token stays out of the record. */
async function getPage(http: HttpClient, pageUrl: URL, shownUrl: string, signal: AbortSignal | undefined): Promise<unknown> {
  try {
    return await http.getJson(pageUrl.href, { signal });
  } catch (error) {
    if (!(error instanceof FetchError) || shownUrl === pageUrl.href) throw error;
    const message = error.message.split(pageUrl.href).join(shownUrl);
    throw error instanceof ListingFormatError ? new ListingFormatError(message) : new FetchError(message, error.permanent, error.reason);
  }
}

function nextPageUrl(link: string | undefined, pageUrl: URL, shownUrl: string): string | undefined {
  if (link === undefined) return undefined;
  try {
    return new URL(link, pageUrl).href;
  } catch {
    throw new ListingFormatError(`${shownUrl} is not the platform's documented format: field @odata.nextLink: "${printable(link)}" is not a URL`);
  }
}

/** The URL with the named parameters' values blanked, the rest written exactly as sent. */
function withoutParams(url: URL, names: readonly string[] = []): string {
  // The HTTP client hides well-known credential parameters the same way in its errors.
  return names.reduce((shown, name) => shown.replace(new RegExp(`([?&]${name.replace(/[^\w]/g, '\\$&')}=)[^&#]*`, 'g'), '$1***'), redactSecrets(url.href));
}
