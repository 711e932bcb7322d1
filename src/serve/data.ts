import type { DocumentKind } from '../db/schema.js';
import type { DeployedArchives, OpenArchive } from './archives.js';
import { LOW_CONFIDENCE, MATCH_CLOSE, MATCH_OPEN, type MeetingDocument, type PageLink, type PageRecord, type RankedMatch, type SearchFilters, type SiteStats } from './queries.js';
import { notFound, PER_PAGE, type SearchRequest } from './requests.js';

/**
 * What every route shows, as plain data: the HTML views render it and the JSON API returns it,
 * so both always agree. Links are paths on this server.
 */

export interface SiteSummary extends SiteStats {
  subdomain: string;
  name: string;
  /** deployment.json's version, or null for a deploy made before versions. */
  version: number | null;
  variant: string | null;
  /** When this archive was published (deployment.json), compiled, or else last written. */
  lastUpdate: string;
  /** Compiled by an older clerk: searchable, without documents, sources or the person index. */
  legacy: boolean;
  url: string;
}

export interface SiteOverview {
  site: SiteSummary;
  bodies: { meeting: string; meetings: number; lastDate: string }[];
  recentMeetings: { meeting: string; date: string; kinds: DocumentKind[]; pages: number; url: string }[];
  people: { name: string; pages: number; meetings: number; votes: number; url: string }[];
}

export interface SearchHit {
  site: string;
  kind: DocumentKind;
  id: string;
  meeting: string;
  date: string;
  page: number;
  documentId: string;
  /** The text around the matches, plain. */
  snippet: string;
  /** The same, HTML-escaped, with each match in <mark>. */
  snippetHtml: string;
  publishedAt: string;
  url: string;
  meetingUrl: string;
}

export interface SearchResults {
  query: SearchFilters;
  page: number;
  perPage: number;
  total: number;
  pageCount: number;
  hits: SearchHit[];
}

export interface PageView extends Omit<PageRecord, 'extracted'> {
  site: string;
  siteName: string;
  /** Entities and votes were extracted for this archive (the full path's); false for a search-only one. */
  extracted: boolean;
  lowConfidence: boolean;
  /** The source PDF opened at this page, when the source is an http(s) URL. */
  sourcePageUrl: string | null;
  prev: (PageLink & { url: string }) | null;
  next: (PageLink & { url: string }) | null;
  meetingUrl: string;
}

export interface MeetingView {
  site: string;
  siteName: string;
  meeting: string;
  date: string;
  documents: (Omit<MeetingDocument, 'pages'> & { pages: (MeetingDocument['pages'][number] & { url: string; lowConfidence: boolean })[] })[];
}

export interface PersonView {
  site: string;
  siteName: string;
  name: string;
  pages: number;
  /** Meetings naming the person in all; `meetings` holds PERSON_MEETINGS of them, page `page`. */
  meetingCount: number;
  voteCount: number;
  page: number;
  perPage: number;
  pageCount: number;
  /** This page's meetings naming the person, newest first, with the pages that do. */
  meetings: { meeting: string; date: string; url: string; pages: { id: string; kind: DocumentKind; page: number; url: string }[] }[];
  /** Each vote of those meetings they moved, seconded or voted in, newest first. */
  votes: {
    meeting: string;
    date: string;
    kind: DocumentKind;
    pageId: string;
    page: number;
    url: string;
    motion: string | null;
    result: string | null;
    moved: boolean;
    seconded: boolean;
    /** aye, nay, abstain, absent; null when they moved or seconded without a recorded vote. */
    vote: string | null;
  }[];
}

export interface LowConfidenceView {
  site: string;
  siteName: string;
  threshold: number;
  total: number;
  page: number;
  perPage: number;
  pageCount: number;
  pages: { kind: DocumentKind; id: string; meeting: string; date: string; page: number; ocrConfidence: number; url: string }[];
}

export const paths = {
  site: (site: string) => `/sites/${site}`,
  page: (site: string, id: string) => `/sites/${site}/pages/${encodeURIComponent(id)}`,
  meeting: (site: string, meeting: string, date: string) => `/sites/${site}/meetings/${encodeURIComponent(meeting)}/${encodeURIComponent(date)}`,
  person: (site: string, name: string) => `/sites/${site}/people/${encodeURIComponent(name)}`,
};

export function siteSummary(archive: OpenArchive): SiteSummary {
  const meta = archive.queries.meta();
  const deployment = archive.deployment;
  return {
    subdomain: archive.subdomain,
    name: meta.site_name ?? archive.subdomain,
    ...archive.queries.stats(),
    version: typeof deployment?.version === 'number' && Number.isInteger(deployment.version) ? deployment.version : null,
    variant: stringOrNull(deployment?.variant) ?? meta.variant ?? null,
    lastUpdate: stringOrNull(deployment?.publishedAt) ?? meta.compiled_at ?? archive.modifiedAt.toISOString(),
    legacy: archive.queries.legacy,
    url: paths.site(archive.subdomain),
  };
}

export function siteOverview(archive: OpenArchive): SiteOverview {
  const site = archive.subdomain;
  return {
    site: siteSummary(archive),
    bodies: archive.queries.bodies(),
    recentMeetings: archive.queries.recentMeetings(20).map((m) => ({ ...m, url: paths.meeting(site, m.meeting, m.date) })),
    people: archive.queries.topPeople(30).map((p) => ({ ...p, url: paths.person(site, p.name) })),
  };
}

/** One site's matches, best first (bm25), PER_PAGE a page. */
export function searchSite(archive: OpenArchive, request: SearchRequest): SearchResults {
  return searchArchives([archive], request);
}

/**
 * Matches across sites, best first. Each site ranks its own best page-fulls, which merge by bm25
 * score; scores of different archives are close to comparable (same tokenizer, same formula),
 * not exactly, as each archive weighs words by its own frequencies.
 */
export function searchArchives(archives: readonly OpenArchive[], request: SearchRequest): SearchResults {
  const { filters, page } = request;
  if (filters.q === '') return { query: filters, page, perPage: PER_PAGE, total: 0, pageCount: 0, hits: [] };
  const offset = (page - 1) * PER_PAGE;
  let total = 0;
  const ranked: { archive: OpenArchive; match: RankedMatch }[] = [];
  for (const archive of archives) {
    total += archive.queries.countMatches(filters);
    for (const match of archive.queries.rankMatches(filters, { limit: offset + PER_PAGE, offset: 0, order: 'rank' })) ranked.push({ archive, match });
  }
  ranked.sort((a, b) => a.match.rank - b.match.rank || a.archive.subdomain.localeCompare(b.archive.subdomain));
  const shown = ranked.slice(offset, offset + PER_PAGE);
  const hits = shown.map(({ archive, match }) => toHit(archive, archive.queries.matchDetails(filters.q, [match])[0]!));
  return { query: filters, page, perPage: PER_PAGE, total, pageCount: Math.ceil(total / PER_PAGE), hits };
}

/** A saved search for its feed: the most recently published matching pages first. */
export function newestMatches(archive: OpenArchive, filters: SearchFilters, limit: number): SearchHit[] {
  const ranked = archive.queries.rankMatches(filters, { limit, offset: 0, order: 'newest' });
  return archive.queries.matchDetails(filters.q, ranked).map((match) => toHit(archive, match));
}

function toHit(archive: OpenArchive, match: ReturnType<OpenArchive['queries']['matchDetails']>[number]): SearchHit {
  const site = archive.subdomain;
  return {
    site,
    kind: match.kind,
    id: match.id,
    meeting: match.meeting,
    date: match.date,
    page: match.page,
    documentId: match.documentId,
    snippet: match.snippet.replaceAll(MATCH_OPEN, '').replaceAll(MATCH_CLOSE, ''),
    snippetHtml: highlight(match.snippet),
    publishedAt: match.publishedAt,
    url: paths.page(site, match.id),
    meetingUrl: paths.meeting(site, match.meeting, match.date),
  };
}

/**
 * A snippet from FTS5 as HTML: escaped first, then its match markers become <mark>. A marker
 * character in the page text itself cannot unbalance the markup: an open mark is only opened
 * when none is, and closed at the end.
 */
export function highlight(snippet: string): string {
  let out = '';
  let open = false;
  for (const part of snippet.split(/([\uE000\uE001])/)) {
    if (part === MATCH_OPEN) {
      if (!open) out += '<mark>';
      open = true;
    } else if (part === MATCH_CLOSE) {
      if (open) out += '</mark>';
      open = false;
    } else {
      out += escapeHtml(part);
    }
  }
  return open ? `${out}</mark>` : out;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function pageView(archive: OpenArchive, id: string): PageView {
  const record = archive.queries.page(id);
  if (!record) throw notFound(`${archive.subdomain} has no page ${id}`);
  const site = archive.subdomain;
  const { prev, next } = archive.queries.neighbours(record);
  return {
    site,
    siteName: siteName(archive),
    ...record,
    lowConfidence: isLowConfidence(record.ocrConfidence),
    sourcePageUrl: sourcePageUrl(record.sourceUrl, record.page),
    prev: prev && { ...prev, url: paths.page(site, prev.id) },
    next: next && { ...next, url: paths.page(site, next.id) },
    meetingUrl: paths.meeting(site, record.meeting, record.date),
  };
}

export function meetingView(archive: OpenArchive, meeting: string, date: string): MeetingView {
  const documents = archive.queries.meeting(meeting, date);
  if (documents.length === 0) throw notFound(`${archive.subdomain} has no meeting of ${meeting} on ${date}`);
  const site = archive.subdomain;
  return {
    site,
    siteName: siteName(archive),
    meeting,
    date,
    documents: documents.map((d) => ({
      ...d,
      pages: d.pages.map((p) => ({ ...p, url: paths.page(site, p.id), lowConfidence: isLowConfidence(p.ocrConfidence) })),
    })),
  };
}

/** Meetings a person's page shows at once. */
export const PERSON_MEETINGS = 50;

export function personView(archive: OpenArchive, name: string, page = 1): PersonView {
  const person = archive.queries.person(name);
  if (!person) throw notFound(`no page of ${archive.subdomain} names ${name}`);
  const site = archive.subdomain;
  const meetings = new Map<string, PersonView['meetings'][number]>();
  const votes = new Map<string, PersonView['votes'][number]>();
  for (const row of archive.queries.personMentions(person.name, { limit: PERSON_MEETINGS, offset: (page - 1) * PERSON_MEETINGS })) {
    const meetingKey = `${row.meeting}\0${row.date}`;
    const meeting = meetings.get(meetingKey) ?? { meeting: row.meeting, date: row.date, url: paths.meeting(site, row.meeting, row.date), pages: [] };
    meetings.set(meetingKey, meeting);
    if (!meeting.pages.some((p) => p.id === row.pageId)) meeting.pages.push({ id: row.pageId, kind: row.kind, page: row.page, url: paths.page(site, row.pageId) });
    if (row.role === 'mentioned' || row.voteIndex === null) continue;
    const voteKey = `${row.kind}\0${row.pageId}\0${row.voteIndex}`;
    const vote = votes.get(voteKey) ?? {
      meeting: row.meeting,
      date: row.date,
      kind: row.kind,
      pageId: row.pageId,
      page: row.page,
      url: paths.page(site, row.pageId),
      motion: row.motion,
      result: row.result,
      moved: false,
      seconded: false,
      vote: null,
    };
    if (row.role === 'moved') vote.moved = true;
    if (row.role === 'seconded') vote.seconded = true;
    if (row.role === 'voted') vote.vote = row.choice;
    votes.set(voteKey, vote);
  }
  return {
    site,
    siteName: siteName(archive),
    name: person.name,
    pages: person.pages,
    meetingCount: person.meetings,
    voteCount: person.votes,
    page,
    perPage: PERSON_MEETINGS,
    pageCount: Math.ceil(person.meetings / PERSON_MEETINGS),
    meetings: [...meetings.values()],
    votes: [...votes.values()],
  };
}

export function lowConfidenceView(archive: OpenArchive, page: number): LowConfidenceView {
  const site = archive.subdomain;
  const { total, pages } = archive.queries.lowConfidencePages({ limit: PER_PAGE, offset: (page - 1) * PER_PAGE });
  return {
    site,
    siteName: siteName(archive),
    threshold: LOW_CONFIDENCE,
    total,
    page,
    perPage: PER_PAGE,
    pageCount: Math.ceil(total / PER_PAGE),
    pages: pages.map((p) => ({ ...p, url: paths.page(site, p.id) })),
  };
}

export async function sitesOf(archives: DeployedArchives): Promise<SiteSummary[]> {
  return archives.useAll((all) => all.map(siteSummary));
}

export function isLowConfidence(confidence: number | null): boolean {
  return confidence !== null && confidence < LOW_CONFIDENCE;
}

/** Only http(s) sources become links: a stored `javascript:` URL must never be clickable. */
function sourcePageUrl(sourceUrl: string | null, page: number): string | null {
  if (!sourceUrl) return null;
  try {
    const url = new URL(sourceUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
    url.hash = `page=${page}`;
    return url.toString();
  } catch {
    return null;
  }
}

function siteName(archive: OpenArchive): string {
  return archive.queries.meta().site_name ?? archive.subdomain;
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : typeof value === 'number' ? String(value) : null;
}
