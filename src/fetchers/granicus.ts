import type { CheerioAPI } from 'cheerio';
import type { Element } from 'domhandler';
import type { DocumentKind } from '../db/schema.js';
import { enclosing, isElement, readHtml, textOf } from './html.js';
import { DiscoveryBuilder } from './listing.js';
import { InvalidMeetingError, monthNameDate, printable, readDate } from './meeting.js';
import { ListingFormatError, type DiscoverOptions, type Discovery, type Fetcher } from './types.js';

/**
 * Granicus ViewPublisher, the meeting video archive page (`--url
 * https://<client>.granicus.com/ViewPublisher.php?view_id=N`). Its archive is one or more
 * `table.listingTable`s (one per body in collapsible panels with a tab per year, on many sites),
 * a row per recorded meeting: a cell `headers="Name"` (the meeting as the clerk titles it, after
 * an optional "play" link), a cell `headers="Date ..."` ("Jan  7, 2020" after a hidden sort key,
 * or "April 2, 2025 - 5:03 PM"; a numeric 01/07/20 is read in US order), then links: `AgendaViewer.php?view_id=..
 * &clip_id=..` (the agenda), `MinutesViewer.php?view_id=..&clip_id=..` (the minutes, sometimes
 * as a "Minutes" option of a document menu), the video player, MP3/MP4 files and the generated
 * HTML agenda, which are not PDFs and are left alone. Both viewer links redirect to the PDF on
 * Granicus's file store (granicus_production_attachments.s3.amazonaws.com) or a
 * DocumentViewer.php on the client's host.
 *
 * The page has the whole archive and no date query, so since/until apply here. The "Upcoming
 * Events" table (cells `headers="EventName"`, links by event_id) is left out: an agenda listed
 * there moves to the archive under a new clip link once the meeting is recorded, and would
 * otherwise be listed twice.
 */
export const granicusFetcher: Fetcher = {
  name: 'granicus',
  description: 'Granicus ViewPublisher archive (--url https://<client>.granicus.com/ViewPublisher.php?view_id=N)',

  // The viewers redirect to Granicus's file store; some clients' files are on another *.granicus.com host.
  defaultAllowedHosts: () => ['*.granicus.com', 'granicus_production_attachments.s3.amazonaws.com'],

  async discover(site, options, { http, discovery }) {
    const page = await http.getText(site.baseUrl, { signal: options.signal });
    const builder = discovery(options);
    readViewPublisher(page.text, page.url, builder);
    return builder.finish();
  },
};

/** Lists the agenda and minutes links of a ViewPublisher page (see `granicusFetcher`). */
export function parseViewPublisher(html: string, pageUrl: string, range: Pick<DiscoverOptions, 'since' | 'until'> = {}): Discovery {
  const builder = new DiscoveryBuilder(range);
  readViewPublisher(html, pageUrl, builder);
  return builder.finish();
}

function readViewPublisher(html: string, pageUrl: string, builder: DiscoveryBuilder): void {
  const $ = readHtml(html);
  if ($('table.listingTable, table.listingTableUpcoming, tr.listingRow, td[headers]').length === 0) {
    throw new ListingFormatError(`${pageUrl} is not a Granicus ViewPublisher page (it has no table.listingTable of meetings)`);
  }
  // Each link belongs to the row nearest around it, so rows nested in rows are read once.
  const linksByRow = new Map<Element, Element[]>();
  for (const element of $('a[href], option[value]').toArray().filter(isElement)) {
    const row = enclosing(element, (node) => node.name === 'tr');
    if (!row) continue;
    const links = linksByRow.get(row);
    if (links) links.push(element);
    else linksByRow.set(row, [element]);
  }
  const headingsByTable = new Map<Element, string[]>();
  for (const [row, elements] of linksByRow) {
    const cells = archiveCells($, row, headingsByTable);
    if (!cells) continue;
    const links = documentLinks(elements, row, cells, pageUrl);
    if (links.length === 0) continue;
    const meeting = textOf(cells.name, 200, isPlayerLink);
    let date: string;
    try {
      date = granicusDate(textOf(cells.date, 200));
    } catch (error) {
      for (const link of links) builder.reject(link.url, (error as Error).message);
      continue;
    }
    if (!builder.wants(date)) continue;
    for (const link of links) builder.add({ kind: link.kind, meeting, date, url: link.url });
  }
}

interface ArchiveCells {
  name: Element;
  date: Element;
  /** Each of the row's cells, with its column number. */
  columns: Map<Element, number>;
  /** What each cell's column is about ("Agenda", "Minutes", ...), by cell index, when the table says. */
  headings: readonly string[];
}

/**
 * The name and date cells of an archive row: by their `headers` attribute ("Name", "Date
 * City-Council"), else by the table's column headings (Name or Meeting, Date). Header rows and
 * Upcoming Events rows ("EventName") are not archive rows.
 */
function archiveCells($: CheerioAPI, row: Element, headingsByTable: Map<Element, string[]>): ArchiveCells | undefined {
  const cells = $(row).children('td').toArray().filter(isElement);
  if (cells.length === 0) return undefined;
  const table = enclosing(row, (element) => element.name === 'table');
  if (table && /upcoming/i.test(`${table.attribs.id ?? ''} ${table.attribs.class ?? ''}`)) return undefined;
  const headerOf = (cell: Element) => (cell.attribs.headers ?? '').trim().split(/\s+/)[0]!.toLowerCase();
  let headings: string[] = [];
  if (table) {
    headings = headingsByTable.get(table) ?? columnHeadings($, table);
    headingsByTable.set(table, headings);
  }
  let name = cells.find((cell) => headerOf(cell) === 'name');
  let date = cells.find((cell) => headerOf(cell) === 'date');
  if (!name && !date && cells.every((cell) => cell.attribs.headers === undefined) && table && /listingTable/.test(table.attribs.class ?? '')) {
    const nameAt = headings.findIndex((heading) => /^(name|meeting)$/i.test(heading));
    const dateAt = headings.findIndex((heading) => /^date$/i.test(heading));
    name = cells[nameAt];
    date = cells[dateAt];
  }
  return name && date ? { name, date, columns: new Map(cells.map((cell, at) => [cell, at])), headings } : undefined;
}

function columnHeadings($: CheerioAPI, table: Element): string[] {
  const headerRow = $(table).find('tr').toArray().filter(isElement).find((tr) => $(tr).children('th').length > 0);
  return headerRow ? $(headerRow).children('th, td').toArray().filter(isElement).map((cell) => textOf(cell, 40)) : [];
}

/** The "play" link some sites put before the meeting name. */
function isPlayerLink(element: Element): boolean {
  return element.name === 'a' && (element.attribs.onclick !== undefined || /^javascript:/i.test(element.attribs.href ?? '') || /MediaPlayer\.php|\/player\//i.test(element.attribs.href ?? ''));
}

interface RowLink {
  kind: DocumentKind;
  url: string;
}

/** The row's agenda and minutes viewer links (and plain PDF links in an Agenda or Minutes column), each once. */
function documentLinks(elements: readonly Element[], row: Element, cells: ArchiveCells, pageUrl: string): RowLink[] {
  const links = new Map<string, RowLink>();
  for (const element of elements) {
    const isOption = element.name === 'option';
    const target = (isOption ? element.attribs.value : element.attribs.href)!.trim();
    if (target === '' || /^javascript:/i.test(target)) continue;
    let url: URL;
    try {
      url = new URL(target, pageUrl);
    } catch {
      continue;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') continue;
    const label = textOf(element, 60);
    const column = columnOf(element, row, cells);
    const kind = linkKind(url, label, column);
    // A document menu also offers action summaries and transcripts on MinutesViewer: only "Minutes" is the minutes.
    if (!kind || (isOption && !/minutes|agenda/i.test(label))) continue;
    if (!links.has(url.href)) links.set(url.href, { kind, url: url.href });
  }
  return [...links.values()];
}

/** The heading of the column a link sits in, or its cell's headers attribute ("Agenda City-Council"). */
function columnOf(element: Element, row: Element, cells: ArchiveCells): string {
  let node: Element = element;
  while (node.parent && node.parent !== row && isElement(node.parent)) node = node.parent;
  const at = cells.columns.get(node);
  return at === undefined ? '' : (cells.headings[at] ?? node.attribs.headers ?? '');
}

function linkKind(url: URL, label: string, column: string): DocumentKind | undefined {
  const page = url.pathname.split('/').at(-1)!.toLowerCase();
  if (page === 'agendaviewer.php') return 'agenda';
  if (page === 'minutesviewer.php') return 'minutes';
  // A PDF linked directly (DocumentViewer.php?file=...pdf, or a .pdf) in an Agenda or Minutes column.
  const isPdf = page === 'documentviewer.php' || page.endsWith('.pdf');
  if (!isPdf) return undefined;
  const words = `${label} ${column}`;
  if (/minutes/i.test(words)) return 'minutes';
  if (/agenda/i.test(words) && !/packet/i.test(words)) return 'agenda';
  return undefined;
}

/** "Jan  7, 2020", "April 2, 2025 - 5:03 PM", "01/07/20 - 6:00 PM" or "2020-01-07" -> "2020-01-07". */
export function granicusDate(text: string): string {
  try {
    if (/[A-Za-z]{3,}\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}/.test(text)) return monthNameDate(text);
    const numeric = /\b(\d{1,2}\/\d{1,2}\/(?:\d{4}|\d{2}))\b/.exec(text) ?? /\b(\d{4}-\d{2}-\d{2})\b/.exec(text);
    if (numeric) return readDate(numeric[1]!, numeric[1]!.includes('/') ? 'mdy' : 'ymd');
  } catch (error) {
    const message = (error as Error).message;
    throw new InvalidMeetingError(message.includes('(the page says') ? message : `${message} (the row says "${printable(text)}")`);
  }
  throw new InvalidMeetingError(`meeting date "${printable(text)}" is not a date like "Jan 7, 2020" or 01/07/20`);
}
