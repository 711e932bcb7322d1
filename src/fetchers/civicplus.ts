import type { CheerioAPI } from 'cheerio';
import type { Element } from 'domhandler';
import type { DocumentKind } from '../db/schema.js';
import type { TextResponse } from './http.js';
import { enclosing, isElement, readHtml, textOf } from './html.js';
import { DiscoveryBuilder } from './listing.js';
import { InvalidMeetingError, monthNameDate, parseMeetingDate, printable } from './meeting.js';
import { FetchError, ListingFormatError, type DiscoverOptions, type Discovery, type Fetcher } from './types.js';

/**
 * The first day searched when discovery asks for the whole history. The Agenda Center search has
 * no "all dates"; clerks upload old minutes under their own (decades-old) dates, so it starts early.
 */
const WHOLE_HISTORY_FROM = '1900-01-01';

/** "/AgendaCenter/ViewFile/Agenda/_01142020-101": kind, MMDDYYYY, agenda id. */
const VIEW_FILE = /^\/AgendaCenter\/ViewFile\/(Agenda|Minutes)\/_(\d{2})(\d{2})(\d{4})-(\d+)\/?$/i;

/**
 * CivicPlus (CivicEngage) Agenda Center. One search lists every category's agendas between two
 * dates: `/AgendaCenter/Search/?term=&CIDs=all&startDate=MM/DD/YYYY&endDate=MM/DD/YYYY&...`
 * (without `since`, from 1900; without `until`, to the end of next year; a result too large for
 * one listing is searched again in halves of the dates). Its results come in one of two layouts,
 * as the site is set up: each category (body) a `div.listing#catN` with an `<h2>` name ("headers
 * off"), or categories grouped under header sections, each a `div.category#catN` with an `<h3>`
 * name inside `div.listing#headerN` ("headers on"). Each
 * meeting is a `tr.catAgendaRow`; its PDFs are `/AgendaCenter/ViewFile/Agenda/_MMDDYYYY-NNN` and
 * `/AgendaCenter/ViewFile/Minutes/_MMDDYYYY-NNN`. The HTML agenda (`?html=true`), the packet
 * (`?packet=true`), previous versions and video links are not those PDFs and are left alone.
 *
 * The meeting is the category's name; the date is the one the row prints ("Agenda for
 * January 14, 2020"), which the clerk keeps up to date. The MMDDYYYY in the file link is the date
 * the agenda was first saved with: it is read only when the row prints no date, or one that is
 * not a real date; when neither is, the row's documents are rejected, naming the printed date.
 */
export const civicplusFetcher: Fetcher = {
  name: 'civicplus',
  description: 'CivicPlus (CivicEngage) Agenda Center (--url the site root, e.g. https://fairview.civicplus.com)',
  settings: {
    categories: 'comma-separated Agenda Center category ids (CIDs) to read, e.g. 1,4 (default: all)',
  },

  defaultAllowedHosts(baseUrl) {
    // A site on its own domain links its files there (or at the www. twin). A *.civicplus.com
    // site redirects its file links to the city's domain, which only the operator knows: --allow-host.
    const host = baseUrl.hostname;
    if (host.endsWith('.civicplus.com')) return [];
    return [host.startsWith('www.') ? host.slice(4) : `www.${host}`];
  },

  validateSettings(settings) {
    readCategories(settings);
  },

  async discover(site, options, { http, discovery }) {
    const categories = readCategories(site.settings);
    const builder = discovery(options);
    // The whole history of a big city can be a page larger than a listing may be: then each
    // half of the dates is searched on its own, and so on, until every page fits.
    const search = async (since: string, until: string): Promise<void> => {
      let page: TextResponse;
      try {
        page = await http.getText(agendaSearchUrl(site.baseUrl, { since, until }, categories), { signal: options.signal });
      } catch (error) {
        if (!(error instanceof FetchError && error.reason === 'too-large' && since < until)) throw error;
        const [first, second] = halves(since, until);
        await search(...first);
        await search(...second);
        return;
      }
      readAgendaCenter(page.text, page.url, builder);
    };
    await search(options.since ?? WHOLE_HISTORY_FROM, options.until ?? `${new Date().getUTCFullYear() + 1}-12-31`);
    return builder.finish();
  },
};

/** Two date ranges, one after the other, that together cover since..until (since < until). */
function halves(since: string, until: string): [[string, string], [string, string]] {
  const day = 86_400_000;
  const from = Date.parse(`${since}T00:00:00Z`);
  const middle = from + Math.floor((Date.parse(`${until}T00:00:00Z`) - from) / day / 2) * day;
  const iso = (time: number) => new Date(time).toISOString().slice(0, 10);
  return [
    [since, iso(middle)],
    [iso(middle + day), until],
  ];
}

/** The Agenda Center search for these dates, as the site's own search form writes it. */
export function agendaSearchUrl(baseUrl: string, range: Pick<DiscoverOptions, 'since' | 'until'>, categories = 'all'): string {
  const root = new URL(baseUrl);
  const until = range.until ?? `${new Date().getUTCFullYear() + 1}-12-31`;
  return `${root.origin}/AgendaCenter/Search/?term=&CIDs=${categories}&startDate=${usDateOf(range.since ?? WHOLE_HISTORY_FROM)}&endDate=${usDateOf(until)}&dateRange=&dateSelector=`;
}

/** "2020-01-07" -> "01/07/2020". */
function usDateOf(iso: string): string {
  const [year, month, day] = parseMeetingDate(iso).split('-');
  return `${month}/${day}/${year}`;
}

function readCategories(settings: Readonly<Record<string, string>>): string {
  const raw = settings.categories?.replace(/\s+/g, '');
  if (raw === undefined || raw === '' || raw.toLowerCase() === 'all') return 'all';
  if (!/^\d{1,9}(,\d{1,9})*$/.test(raw)) throw new Error(`setting categories must be Agenda Center category ids separated by commas (e.g. 1,4), got "${printable(settings.categories ?? '')}"`);
  // The site's own form ends the list with a comma.
  return `${raw},`;
}

/**
 * Lists the PDFs on an Agenda Center search results page (either layout). A page with no agenda
 * rows is a real empty result only if it is an Agenda Center page at all; anything else (a login
 * page, the city's home page) fails as a listing format error.
 */
export function parseAgendaCenter(html: string, pageUrl: string, range: Pick<DiscoverOptions, 'since' | 'until'> = {}): Discovery {
  const builder = new DiscoveryBuilder(range);
  readAgendaCenter(html, pageUrl, builder);
  return builder.finish();
}

function readAgendaCenter(html: string, pageUrl: string, builder: DiscoveryBuilder): void {
  const $ = readHtml(html);
  if ($('tr.catAgendaRow').length === 0 && $('#AgendaCenterContent, .agendaCenterContent, input[name="chkCategoryID"], #StartDatePicker').length === 0) {
    throw new ListingFormatError(`${pageUrl} is not a CivicPlus Agenda Center search page (it has neither agenda rows nor the Agenda Center search form)`);
  }
  // Each link and bold date belongs to the row nearest around it, so a page of rows nested in
  // rows is still read once, in time linear in its size.
  const rows = new Map<Element, { links: Map<string, RowLink>; dates: Element[] }>();
  const rowOf = (element: Element) => {
    const row = enclosing(element, (node) => node.name === 'tr' && /(?:^|\s)catAgendaRow(?:\s|$)/.test(node.attribs.class ?? ''));
    if (!row) return undefined;
    let entry = rows.get(row);
    if (!entry) rows.set(row, (entry = { links: new Map(), dates: [] }));
    return entry;
  };
  for (const element of $('a[href], strong').toArray().filter(isElement)) {
    if (element.name === 'strong') {
      rowOf(element)?.dates.push(element);
      continue;
    }
    const link = documentLink(element, pageUrl);
    if (link) rowOf(element)?.links.set(link.url, link);
  }
  const categories = new Map<Element, string>();
  for (const [row, { links: byUrl, dates }] of rows) {
    const links = [...byUrl.values()];
    if (links.length === 0) continue;
    let date: string;
    let category: string;
    try {
      category = categoryOf($, row, categories);
      date = rowDate(dates, links);
    } catch (error) {
      for (const link of links) builder.reject(link.url, (error as Error).message);
      continue;
    }
    for (const link of links) builder.add({ kind: link.kind, meeting: category, date, url: link.url });
  }
}

interface RowLink {
  kind: DocumentKind;
  url: string;
  /** The MMDDYYYY of the file id, when it is a real date. */
  linkDate?: string;
}

/** An agenda or minutes PDF link (a row links its agenda two or three times; the caller keeps one). */
function documentLink(anchor: Element, pageUrl: string): RowLink | undefined {
  let url: URL;
  try {
    url = new URL(anchor.attribs.href!, pageUrl);
  } catch {
    return undefined;
  }
  const match = VIEW_FILE.exec(url.pathname);
  if (!match || url.searchParams.has('html') || url.searchParams.has('packet')) return undefined;
  const [, kind, month, day, year] = match;
  let linkDate: string | undefined;
  try {
    linkDate = parseMeetingDate(`${year}-${month}-${day}`);
  } catch {
    linkDate = undefined;
  }
  return { kind: kind!.toLowerCase() === 'minutes' ? 'minutes' : 'agenda', url: url.href, ...(linkDate ? { linkDate } : {}) };
}

/** The name of the category (body) the row is listed under: the heading of its `#catN` section, read once per section. */
function categoryOf($: CheerioAPI, row: Element, names: Map<Element, string>): string {
  const section = enclosing(row, (element) => /^cat\d+$/.test(element.attribs.id ?? ''));
  let name = section ? names.get(section) : '';
  if (name === undefined && section) {
    const heading = $(section).children('h2, h3').toArray().find(isElement);
    // "▼ Airport Advisory Board": the toggle arrow is a span of its own.
    name = heading ? textOf(heading, 200, (element) => element.name === 'span' && /^span\d+$/.test(element.attribs.id ?? '')).replace(/^[\u25a0-\u25ff\s]+/, '') : '';
    names.set(section, name);
  }
  if (!name) throw new InvalidMeetingError('the agenda row is not under a category heading naming its body');
  return name;
}

/** The meeting date the row prints: the heading's aria-label ("Agenda for January 14, 2020") or its bold date. */
function rowDate(strong: readonly Element[], links: readonly RowLink[]): string {
  const labelled = strong.map((element) => /^\s*Agenda for (.+)$/i.exec(element.attribs['aria-label'] ?? '')?.[1]).find((label) => label !== undefined);
  const printed = labelled ?? (strong[0] ? textOf(strong[0], 100) : undefined);
  const fromLink = links.find((link) => link.linkDate !== undefined)?.linkDate;
  if (printed) {
    try {
      return monthNameDate(printed);
    } catch (error) {
      if (fromLink) return fromLink;
      throw new InvalidMeetingError(`${(error as Error).message} (the row says "${printable(printed)}")`);
    }
  }
  if (fromLink) return fromLink;
  throw new InvalidMeetingError('the agenda row prints no meeting date and its file link has no real one');
}
