import type { DocumentKind } from '../db/schema.js';
import { httpGet } from './http.js';
import { meetingSlug, normalizeMeetingName, parseMeetingDate, printable } from './meeting.js';
import type { DiscoveredDocument, Discovery, Fetcher, RejectedListing, SiteSource } from './types.js';

const INDEX_MAX_BYTES = 5 * 1024 * 1024;
const INDEX_TIMEOUT_MS = 30_000;

/**
 * Reads a site whose source is one HTML page listing its PDFs. Each anchor to a .pdf names its
 * kind, meeting and date in data attributes (data-kind, data-meeting, data-date); without them
 * they are read from the link's path, `.../<minutes|agendas>/<Meeting>/<YYYY-MM-DD>.pdf`.
 */
export const httpIndexFetcher: Fetcher = {
  async discover(site: SiteSource, signal?: AbortSignal): Promise<Discovery> {
    const indexUrl = new URL(site.sourceUrl);
    const html = (await httpGet(indexUrl.href, { maxBytes: INDEX_MAX_BYTES, timeoutMs: INDEX_TIMEOUT_MS, allowedHost: indexUrl.host, signal })).toString('utf8');
    return parseIndexPage(html, indexUrl);
  },
};

export function parseIndexPage(html: string, baseUrl: URL): Discovery {
  const documents: DiscoveredDocument[] = [];
  const rejected: RejectedListing[] = [];
  const seen = new Set<string>();
  for (const attributes of anchors(html)) {
    const href = attributes.get('href');
    if (!href) continue;
    let url: URL;
    try {
      url = new URL(decodeEntities(href), baseUrl);
    } catch {
      continue;
    }
    if (!url.pathname.toLowerCase().endsWith('.pdf')) continue;
    try {
      const document = describeListing(url, attributes);
      const identity = `${document.kind}/${document.meetingSlug}/${document.date}`;
      if (seen.has(identity)) throw new Error(`lists ${identity} a second time`);
      seen.add(identity);
      documents.push(document);
    } catch (error) {
      rejected.push({ url: url.href, reason: (error as Error).message });
    }
  }
  return { documents, rejected };
}

function describeListing(url: URL, attributes: Map<string, string>): DiscoveredDocument {
  const segments = url.pathname.split('/').map(decodeURIComponent);
  const fileDate = segments.at(-1)?.replace(/\.pdf$/i, '') ?? '';
  const kind = readKind(attributes.get('data-kind') ?? segments.find((s) => /^(minutes|agendas?)$/i.test(s)) ?? 'minutes');
  const meeting = normalizeMeetingName(decodeEntities(attributes.get('data-meeting') ?? segments.at(-2) ?? ''));
  return {
    kind,
    meeting,
    meetingSlug: meetingSlug(meeting),
    date: parseMeetingDate(decodeEntities(attributes.get('data-date') ?? fileDate)),
    url: url.href,
  };
}

function readKind(value: string): DocumentKind {
  const lower = value.toLowerCase();
  if (lower === 'minutes') return 'minutes';
  if (lower === 'agenda' || lower === 'agendas') return 'agenda';
  throw new Error(`unknown document kind "${printable(value)}"`);
}

function* anchors(html: string): Generator<Map<string, string>> {
  // Both patterns must stay linear on hostile pages (an index may be 5 MB): no tag is looked for
  // past the last ">", and a name without "=value" is consumed whole rather than retried from
  // each of its characters.
  const anchor = /<a\b([^>]*)>/gi;
  const attribute = /([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  for (const match of html.slice(0, html.lastIndexOf('>') + 1).matchAll(anchor)) {
    const attributes = new Map<string, string>();
    for (const attr of match[1]!.matchAll(attribute)) {
      const value = attr[2] ?? attr[3] ?? attr[4];
      if (value !== undefined) attributes.set(attr[1]!.toLowerCase(), value);
    }
    yield attributes;
  }
}

function decodeEntities(text: string): string {
  return text
    .replace(/&#(\d+);/g, (_, code: string) => String.fromCodePoint(Number(code)))
    .replace(/&#x([0-9a-f]+);/gi, (_, code: string) => String.fromCodePoint(parseInt(code, 16)))
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
