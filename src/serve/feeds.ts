import { Feed } from 'feed';
import type { OpenArchive } from './archives.js';
import { escapeHtml, newestMatches, paths, siteSummary } from './data.js';
import type { SearchFilters } from './queries.js';

const FEED_ENTRIES = 50;

/**
 * Atom feeds: a site's newly published meetings, one entry per document clerk fetched (an agenda
 * comes days before its minutes, and each is news), and a saved search, whose entries are the
 * matching pages of the most recently published documents. `origin` makes links absolute.
 */
export function siteFeed(archive: OpenArchive, origin: string): string {
  const site = siteSummary(archive);
  const documents = archive.queries.recentDocuments(FEED_ENTRIES);
  const feed = new Feed({
    id: `${origin}${site.url}`,
    title: xmlText(`${site.name}: new meetings`),
    description: xmlText(`Agendas and minutes of ${site.name} as clerk publishes them`),
    link: `${origin}${site.url}`,
    feed: `${origin}${site.url}/feed.atom`,
    updated: latest(documents.map((d) => d.publishedAt), site.lastUpdate),
    generator: 'clerk',
  });
  for (const document of documents) {
    const kind = document.kind === 'agenda' ? 'Agenda' : 'Minutes';
    feed.addItem({
      title: xmlHtml(`${document.meeting}, ${document.date}: ${kind}`),
      id: `urn:clerk:${archive.subdomain}:document:${encodeURIComponent(document.id)}`,
      link: `${origin}${paths.meeting(archive.subdomain, document.meeting, document.date)}`,
      date: new Date(document.publishedAt),
      published: new Date(document.publishedAt),
      description: xmlHtml(`${kind} of ${document.meeting}, ${document.date}: ${document.pageCount} pages.`),
    });
  }
  return feed.atom1();
}

export function searchFeed(archive: OpenArchive, filters: SearchFilters, origin: string): string {
  const site = siteSummary(archive);
  const hits = newestMatches(archive, filters, FEED_ENTRIES);
  const query = new URLSearchParams(Object.entries({ q: filters.q, body: filters.body, from: filters.from, to: filters.to, kind: filters.kind }).filter((e): e is [string, string] => !!e[1]));
  const feed = new Feed({
    id: `${origin}${site.url}/search.atom?${query.toString()}`,
    title: xmlText(`${site.name}: "${filters.q}"`),
    description: xmlText(`Pages of ${site.name} matching ${filters.q}, newest first`),
    link: `${origin}${site.url}/search?${query.toString()}`,
    feed: `${origin}${site.url}/search.atom?${query.toString()}`,
    updated: latest(hits.map((h) => h.publishedAt), site.lastUpdate),
    generator: 'clerk',
  });
  for (const hit of hits) {
    const date = new Date(hit.publishedAt);
    feed.addItem({
      title: xmlHtml(`${hit.meeting}, ${hit.date}: ${hit.kind === 'agenda' ? 'agenda' : 'minutes'} page ${hit.page}`),
      id: `urn:clerk:${archive.subdomain}:page:${hit.kind}:${hit.id}`,
      link: `${origin}${hit.url}`,
      date,
      published: date,
      // snippetHtml is escaped HTML: the feed's <summary type="html"> carries it as it is.
      description: xmlSafe(hit.snippetHtml),
    });
  }
  return feed.atom1();
}

function latest(isoDates: string[], fallback: string): Date {
  const times = isoDates.map((d) => Date.parse(d)).filter((t) => !Number.isNaN(t));
  return new Date(times.length > 0 ? Math.max(...times) : Date.parse(fallback) || Date.now());
}

/** Plain text for an Atom text element: without the characters XML 1.0 forbids (OCR can produce them). */
function xmlText(text: string): string {
  return xmlSafe(text);
}

/** Text for a `type="html"` element: escaped, so a name like "<b>" shows as written. */
function xmlHtml(text: string): string {
  return xmlSafe(escapeHtml(text));
}

function xmlSafe(text: string): string {
  return text.replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '');
}
