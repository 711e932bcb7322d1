import type { CheerioAPI } from 'cheerio';
import type { AnyNode, Element } from 'domhandler';
import { isElement, MAX_TEXT_NODES, pushChildren, readHtml, textOf } from './html.js';
import type { DocumentKind } from '../db/schema.js';
import { DiscoveryBuilder } from './listing.js';
import { DATE_FORMATS, fullYear, InvalidMeetingError, isoDate, meetingSlug, monthNumber, normalizeMeetingName, printable, readDate, type DateFormat } from './meeting.js';
import { FetchError, ListingFormatError, type DiscoverOptions, type Discovery, type Fetcher } from './types.js';

/** Regular expressions from settings run on at most this much text, so none can take long. */
const MAX_MATCH_TEXT = 500;
const MAX_PATTERN_LENGTH = 300;

const settingMeanings = {
  link_selector: 'CSS selector for the links to read (default "a[href]"); an element that is not a link stands for the first link inside it',
  link_pattern: 'regular expression the absolute link URL must match to be a document (default: a path ending in .pdf)',
  kind: 'agenda or minutes for every link that does not say (default auto: "agenda"/"minutes" in the link text, else in its URL, else minutes)',
  meeting: 'the meeting name of every link, for a page that lists one body',
  meeting_pattern: 'regular expression with a (?<meeting>...) group, tried on the link text, then on its URL',
  date_pattern: 'regular expression with a (?<date>...) group (or year, month and day groups), tried on the link text, then on its URL',
  date_format: 'how a date_pattern date is written: auto (default), ymd, mdy, dmy or month-name',
} as const;

interface IndexSettings {
  linkSelector: string;
  linkPattern?: RegExp;
  kind: DocumentKind | 'auto';
  meeting?: string;
  meetingPattern?: RegExp;
  datePattern?: RegExp;
  dateFormat: DateFormat;
}

/**
 * Reads a site whose source is one HTML page linking its PDFs. By default each link to a .pdf
 * names its kind, meeting and date in data attributes (data-kind, data-meeting, data-date) or in
 * its path, `.../<minutes|agendas>/<Meeting>/<YYYY-MM-DD>.pdf`, as the sample site does. Settings
 * read the long tail of town websites: which links (link_selector, link_pattern), and where the
 * meeting and date are written (meeting, meeting_pattern, date_pattern, date_format, kind).
 * A town page such as
 *   <a href="/DocumentCenter/View/1234/CC-Minutes-01-07-2020">City Council Minutes – January 7, 2020</a>
 * reads with link_pattern=/DocumentCenter/View/\d+, meeting_pattern=^(?<meeting>.+?) (?:Minutes|Agenda)
 * and date_pattern=(?<date>[A-Z][a-z]+ \d{1,2}, \d{4}).
 */
export const httpIndexFetcher: Fetcher = {
  name: 'http-index',
  description: 'one HTML page linking the PDFs (--url the page); settings say which links and where their meeting and date are written',
  settings: settingMeanings,

  validateSettings(settings) {
    readIndexSettings(settings);
  },

  async discover(site, options, { http, discovery }) {
    let settings: IndexSettings;
    try {
      settings = readIndexSettings(site.settings);
    } catch (error) {
      throw new FetchError(`http-index settings of ${site.subdomain}: ${(error as Error).message}`, true, 'bad-listing');
    }
    const page = await http.getText(site.baseUrl, { signal: options.signal, headers: { Accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.5' } });
    // A server may label HTML wrongly (application/octet-stream); a body that is no markup at all is no index.
    if (page.contentType && !/html|xml/i.test(page.contentType) && !/^[\s\ufeff]*</.test(page.text.slice(0, 1_024))) {
      throw new ListingFormatError(`${page.url} is ${page.contentType}, not an HTML page listing documents`);
    }
    const $ = readHtml(page.text);
    const builder = discovery(options);
    const candidates = readIndexPage($, page.url, settings, builder);
    // A page asking for a password is a login wall, not an index that happens to be empty.
    if (candidates === 0 && $('input[type="password" i]').length > 0) {
      throw new ListingFormatError(`${page.url} is a login page (it asks for a password), not the page listing the site's documents`);
    }
    return builder.finish();
  },
};

/**
 * Lists the documents an index page links, with the same settings as the fetcher (see
 * `httpIndexFetcher.settings`); meetings outside `range` are left out. Settings are checked first:
 * a bad one throws.
 */
export function parseIndexPage(html: string, baseUrl: URL | string, settings: Readonly<Record<string, string>> = {}, range: Pick<DiscoverOptions, 'since' | 'until'> = {}): Discovery {
  const builder = new DiscoveryBuilder(range);
  readIndexPage(readHtml(html), baseUrl, readIndexSettings(settings), builder);
  return builder.finish();
}

/** Adds the page's document links to `builder`; returns how many links looked like documents. */
function readIndexPage($: CheerioAPI, baseUrl: URL | string, settings: IndexSettings, builder: DiscoveryBuilder): number {
  let candidates = 0;
  for (const element of $(settings.linkSelector).toArray()) {
    if (!isElement(element)) continue;
    const link = element.attribs.href !== undefined ? element : firstLink(element);
    const href = link?.attribs.href;
    if (!link || href === undefined) continue;
    let url: URL;
    try {
      url = new URL(href, baseUrl);
    } catch {
      continue;
    }
    if (!isDocumentLink(url, settings)) continue;
    candidates++;
    let entry: { kind: DocumentKind; meeting: string; date: string };
    try {
      entry = describeLink(link, url, settings);
    } catch (error) {
      builder.reject(url.href, (error as Error).message);
      continue;
    }
    builder.add({ ...entry, url: url.href });
  }
  return candidates;
}

/** The first `<a href>` inside an element the selector picked, looking at its first few thousand nodes. */
function firstLink(element: Element): Element | undefined {
  const stack: AnyNode[] = [];
  pushChildren(stack, element, MAX_TEXT_NODES);
  for (let visited = 0; stack.length > 0 && visited < MAX_TEXT_NODES; visited++) {
    const node = stack.pop()!;
    if (!isElement(node)) continue;
    if (node.name === 'a' && node.attribs.href !== undefined) return node;
    pushChildren(stack, node, MAX_TEXT_NODES - visited);
  }
  return undefined;
}

function isDocumentLink(url: URL, settings: IndexSettings): boolean {
  if (settings.linkPattern) return settings.linkPattern.test(url.href.slice(0, 2_000));
  return url.pathname.toLowerCase().endsWith('.pdf');
}

function describeLink(link: Element, url: URL, settings: IndexSettings): { kind: DocumentKind; meeting: string; date: string } {
  const attribute = (name: string): string | undefined => link.attribs[name];
  // Read lazily: most links say everything in data attributes or in the settings.
  let segments: string[] | undefined;
  const pathSegments = () => (segments ??= url.pathname.split('/').map(decodeSegment));
  let text: string | undefined;
  const linkText = () => (text ??= (textOf(link, MAX_MATCH_TEXT) || (attribute('title') ?? attribute('aria-label') ?? '').slice(0, MAX_MATCH_TEXT)));
  const urlText = () => `${decodeSegment(url.pathname)}${url.search}`.slice(0, MAX_MATCH_TEXT);

  const kind = readKind(attribute('data-kind') ?? (settings.kind !== 'auto' ? settings.kind : undefined) ?? pathSegments().find((s) => /^(minutes|agendas?)$/i.test(s)) ?? kindFromWords(linkText()) ?? kindFromWords(urlText()) ?? 'minutes');

  let meeting = attribute('data-meeting') ?? settings.meeting;
  if (meeting === undefined && settings.meetingPattern) {
    meeting = firstGroup(settings.meetingPattern, [linkText(), urlText()], 'meeting');
    if (meeting === undefined) throw new InvalidMeetingError(`meeting_pattern found no meeting in the link text "${printable(linkText())}" or its URL`);
  }
  meeting ??= pathSegments().at(-2) ?? '';

  let date = attribute('data-date');
  if (date === undefined && settings.datePattern) date = matchDate(settings.datePattern, [linkText(), urlText()], settings.dateFormat);
  date ??= pathSegments().at(-1)?.replace(/\.pdf$/i, '') ?? '';

  return { kind, meeting, date };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** "minutes", "agenda" or "agendas", in any case and exactly so: "agenda " is not a kind the page can mean. */
function readKind(value: string): DocumentKind {
  const lower = value.toLowerCase();
  if (lower === 'minutes') return 'minutes';
  if (lower === 'agenda' || lower === 'agendas') return 'agenda';
  throw new Error(`unknown document kind "${printable(value)}"`);
}

/** "Minutes" or "Agenda" as a word (in a URL, words end at - _ / and digits); both or neither say nothing. */
function kindFromWords(text: string): DocumentKind | undefined {
  const minutes = /(?:^|[^a-z])minutes(?:[^a-z]|$)/i.test(text);
  const agenda = /(?:^|[^a-z])agendas?(?:[^a-z]|$)/i.test(text);
  return minutes === agenda ? undefined : minutes ? 'minutes' : 'agenda';
}

function firstGroup(pattern: RegExp, texts: readonly string[], group: string): string | undefined {
  for (const text of texts) {
    const value = pattern.exec(text)?.groups?.[group]?.trim();
    if (value) return value;
  }
  return undefined;
}

function matchDate(pattern: RegExp, texts: readonly string[], format: DateFormat): string {
  for (const text of texts) {
    const groups = pattern.exec(text)?.groups;
    if (!groups) continue;
    if (groups.date?.trim()) return readDate(groups.date, format);
    if (groups.year && groups.month && groups.day) {
      const month = /^\d+$/.test(groups.month) ? Number(groups.month) : monthNumber(groups.month);
      if (month === undefined) throw new InvalidMeetingError(`meeting date month "${printable(groups.month)}" is not a month`);
      return isoDate(fullYear(groups.year), month, Number(groups.day), `${groups.year}-${groups.month}-${groups.day}`);
    }
  }
  throw new InvalidMeetingError(`date_pattern found no date in the link text "${printable(texts[0] ?? '')}" or its URL`);
}

/** Checks and compiles the settings; throws an Error naming the setting at fault. */
function readIndexSettings(settings: Readonly<Record<string, string>>): IndexSettings {
  const linkSelector = settings.link_selector?.trim() || 'a[href]';
  try {
    readHtml('')(linkSelector);
  } catch (error) {
    throw new Error(`setting link_selector "${printable(linkSelector)}" is not a CSS selector clerk can use (${(error as Error).message})`);
  }
  const kind = (settings.kind?.trim().toLowerCase() || 'auto') as IndexSettings['kind'];
  if (!['auto', 'agenda', 'minutes'].includes(kind)) throw new Error(`setting kind must be agenda, minutes or auto, got "${printable(settings.kind ?? '')}"`);
  const dateFormat = (settings.date_format?.trim().toLowerCase() || 'auto') as DateFormat;
  if (!DATE_FORMATS.includes(dateFormat)) throw new Error(`setting date_format must be one of ${DATE_FORMATS.join(', ')}, got "${printable(settings.date_format ?? '')}"`);
  let meeting: string | undefined;
  if (settings.meeting !== undefined) {
    try {
      meeting = normalizeMeetingName(settings.meeting);
      meetingSlug(meeting);
    } catch (error) {
      throw new Error(`setting meeting: ${(error as Error).message}`);
    }
  }
  const meetingPattern = compilePattern('meeting_pattern', settings.meeting_pattern);
  if (meetingPattern && !/\(\?<meeting>/.test(meetingPattern.source)) throw new Error('setting meeting_pattern needs a (?<meeting>...) group around the meeting name');
  const datePattern = compilePattern('date_pattern', settings.date_pattern);
  if (datePattern && !/\(\?<date>/.test(datePattern.source) && !['year', 'month', 'day'].every((group) => datePattern.source.includes(`(?<${group}>`))) {
    throw new Error('setting date_pattern needs a (?<date>...) group, or (?<year>...), (?<month>...) and (?<day>...) groups');
  }
  const linkPattern = compilePattern('link_pattern', settings.link_pattern);
  const read: IndexSettings = { linkSelector, kind, dateFormat };
  if (meeting !== undefined) read.meeting = meeting;
  if (linkPattern) read.linkPattern = linkPattern;
  if (meetingPattern) read.meetingPattern = meetingPattern;
  if (datePattern) read.datePattern = datePattern;
  return read;
}

/**
 * A setting's regular expression, case-insensitive. Refused: one that does not compile, a very
 * long one, and one that repeats a group which itself repeats ("(\w+)+", "(a*)*"), the shape that
 * can take exponential time on a crafted link; the text it runs on is capped as well.
 */
function compilePattern(name: string, source: string | undefined): RegExp | undefined {
  if (source === undefined || source.trim() === '') return undefined;
  if (source.length > MAX_PATTERN_LENGTH) throw new Error(`setting ${name} is longer than ${MAX_PATTERN_LENGTH} characters`);
  let pattern: RegExp;
  try {
    pattern = new RegExp(source, 'i');
  } catch (error) {
    throw new Error(`setting ${name} is not a regular expression: ${(error as Error).message}`);
  }
  if (repeatsARepeat(source)) throw new Error(`setting ${name} repeats a group that itself repeats (like "(\\w+)+"), which can take exponential time; repeat one or the other`);
  return pattern;
}

/** True when a quantified group (*, +, {n,}) holds a quantifier of its own. */
function repeatsARepeat(source: string): boolean {
  const groups: boolean[] = [false];
  const unboundedAt = (at: number) => {
    const next = source[at];
    if (next === '*' || next === '+') return true;
    const braces = /^\{(\d*)(,?)(\d*)\}/.exec(source.slice(at, at + 20));
    return braces !== null && (braces[2] === ',' ? braces[3] === '' || Number(braces[3]) > 1 : Number(braces[1]) > 1);
  };
  const quantifierAt = (at: number) => source[at] === '?' || unboundedAt(at);
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      i++;
      if (quantifierAt(i + 1)) groups[groups.length - 1] = true;
    } else if (c === '[') {
      for (i++; i < source.length && source[i] !== ']'; i++) if (source[i] === '\\') i++;
      if (quantifierAt(i + 1)) groups[groups.length - 1] = true;
    } else if (c === '(') {
      groups.push(false);
    } else if (c === ')') {
      const inner = groups.length > 1 ? groups.pop()! : false;
      if (inner && unboundedAt(i + 1)) return true;
      if (inner || quantifierAt(i + 1)) groups[groups.length - 1] = true;
    } else if (c !== '?' && c !== '*' && c !== '+' && c !== '{' && quantifierAt(i + 1)) {
      groups[groups.length - 1] = true;
    }
  }
  return false;
}
