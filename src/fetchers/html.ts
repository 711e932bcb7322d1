import * as cheerio from 'cheerio';
import type { CheerioAPI } from 'cheerio';
import type { AnyNode, Element, Text } from 'domhandler';
import { DomHandler, Parser } from 'htmlparser2';
import { InvalidMeetingError, monthNameDate, parseMeetingDate, printable } from './meeting.js';

/*
 * Reading HTML listings safely, shared by the HTML platform fetchers (http-index, civicplus,
 * granicus): a depth-capped parser, bounded text reads, and the date forms town pages print.
 */
/**
 * Deepest element nesting the reader builds. Parsers keep a stack of open elements and touch
 * all of it on each tag, so a page of a million unclosed `<div>`s takes minutes to hours; past
 * this depth a start tag is read as an empty element instead. Real pages nest a few dozen deep.
 */
const MAX_DEPTH = 256;

/** Text read from one element: enough for a meeting name and date, never a whole page. */
const MAX_TEXT = 500;
/** Nodes one text read may visit: an anchor wrapping a huge empty subtree stops early. */
export const MAX_TEXT_NODES = 2_000;

/**
 * htmlparser2's parser with a depth limit. `isVoidElement` is its documented extension point; the
 * parser asks it once when a start tag opens (push it or not) and once when the tag ends (close
 * it at once or not), so the answer given the first time is remembered for the second.
 */
class DepthLimitedParser extends Parser {
  /** Elements open now, counted by the handler below. */
  depth = 0;
  /** Set by the handler just before the parser asks the second time for the same start tag. */
  endingOpenTag = false;
  private flattened = false;

  protected override isVoidElement(name: string): boolean {
    if (this.endingOpenTag) {
      this.endingOpenTag = false;
      return this.flattened;
    }
    this.flattened = super.isVoidElement(name) || this.depth >= MAX_DEPTH;
    return this.flattened;
  }
}

/** Builds the DOM cheerio queries, keeping the parser's depth count. */
class CountingDomHandler extends DomHandler {
  counted?: DepthLimitedParser;

  override onopentag(name: string, attribs: Record<string, string>): void {
    super.onopentag(name, attribs);
    this.counted!.depth++;
    this.counted!.endingOpenTag = true;
  }

  override onclosetag(): void {
    this.counted!.depth--;
    super.onclosetag();
  }
}

/**
 * Parses an HTML page for querying, in time linear in its size whatever it holds (a 5 MB page of
 * unclosed tags included). Entities are decoded as browsers decode them (`&#0;` is U+FFFD);
 * elements are not moved about as a browser would (no implied `<tbody>`), which listings do not need.
 */
export function readHtml(html: string): CheerioAPI {
  const handler = new CountingDomHandler();
  const parser = new DepthLimitedParser(handler, { decodeEntities: true });
  handler.counted = parser;
  parser.end(html);
  return cheerio.load(handler.root);
}

const SKIPPED_TEXT = new Set(['script', 'style', 'template', 'noscript']);

/**
 * An element's visible text, whitespace (and no-break spaces) collapsed, read no further than
 * `max` characters. Scripts, styles, hidden elements (`hidden`, `display:none`, as Granicus hides
 * its sort keys) and elements `skip` names are left out.
 */
export function textOf(root: AnyNode | undefined, max = MAX_TEXT, skip?: (element: Element) => boolean): string {
  if (!root) return '';
  let text = '';
  let visited = 0;
  const stack: AnyNode[] = [root];
  while (stack.length > 0 && text.length < max * 2 && visited++ < MAX_TEXT_NODES) {
    const node = stack.pop()!;
    if (node.type === 'text') {
      text += (node as Text).data;
    } else if (isElement(node)) {
      if (SKIPPED_TEXT.has(node.name) || isHidden(node) || (node !== root && skip?.(node))) continue;
      // Block boundaries become spaces, so "<td>Jan 7</td><td>2020</td>" does not run together.
      if (BLOCKS.has(node.name)) text += ' ';
      pushChildren(stack, node, MAX_TEXT_NODES - visited);
    } else if (node.type === 'root') {
      pushChildren(stack, node, MAX_TEXT_NODES - visited);
    }
  }
  return text.replace(/[\s\u00a0]+/g, ' ').trim().slice(0, max);
}

/** Stacks a node's first `limit` children so the first is popped first (a walk never needs more). */
export function pushChildren(stack: AnyNode[], node: AnyNode, limit: number): void {
  if (!('children' in node)) return;
  for (let i = Math.min(node.children.length, Math.max(limit, 0)) - 1; i >= 0; i--) stack.push(node.children[i]!);
}

const BLOCKS = new Set(['br', 'p', 'div', 'li', 'td', 'th', 'tr', 'table', 'ul', 'ol', 'dt', 'dd', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'section', 'article', 'header', 'footer', 'option']);

export function isElement(node: AnyNode): node is Element {
  return node.type === 'tag' || node.type === 'script' || node.type === 'style';
}

/** The nearest element around `node` (not `node` itself) that `matches`, walking up at most the reader's depth. */
export function enclosing(node: AnyNode, matches: (element: Element) => boolean): Element | undefined {
  let parent = node.parent;
  for (let steps = 0; parent && steps <= MAX_DEPTH; steps++, parent = parent.parent) {
    if (isElement(parent) && matches(parent)) return parent;
  }
  return undefined;
}

function isHidden(element: Element): boolean {
  return element.attribs.hidden !== undefined || /display\s*:\s*none/i.test(element.attribs.style ?? '');
}

/** How a date found on a page is written. */
export type DateFormat = 'auto' | 'ymd' | 'mdy' | 'dmy' | 'month-name';
export const DATE_FORMATS: readonly DateFormat[] = ['auto', 'ymd', 'mdy', 'dmy', 'month-name'];

/**
 * A date as a town website writes it -> YYYY-MM-DD. `auto` reads 2020-01-07, "January 7, 2020",
 * "7 January 2020" and, for numbers in another order, the US order (01/07/2020, 1-7-20, 01072020).
 * Two-digit years are 2000-2069 or 1970-1999.
 */
export function readDate(value: string, format: DateFormat = 'auto'): string {
  const text = value.replace(/[\s\u00a0]+/g, ' ').trim();
  const attempts: Record<Exclude<DateFormat, 'auto'>, () => string | undefined> = {
    ymd: () => numericDate(text, ['year', 'month', 'day']),
    mdy: () => numericDate(text, ['month', 'day', 'year']),
    dmy: () => numericDate(text, ['day', 'month', 'year']),
    'month-name': () => dayFirstMonthName(text) ?? monthNameOrUndefined(text),
  };
  // Read without a format, numbers are year first only when a year is written first in full
  // (2020-01-07, 20200107); otherwise in US order (01-07-2020, 01072020).
  const yearFirst = /^\d{4}\D/.test(text) || (/^\d{8}$/.test(text) && Number(text.slice(0, 4)) >= 1900 && Number(text.slice(0, 4)) <= 2100);
  const order: Exclude<DateFormat, 'auto'>[] = format !== 'auto' ? [format] : yearFirst ? ['ymd'] : ['month-name', 'mdy'];
  for (const attempt of order) {
    let date: string | undefined;
    try {
      date = attempts[attempt]();
    } catch (error) {
      // February 30: say what the page wrote, not only the date it would have been.
      const message = (error as Error).message;
      throw new InvalidMeetingError(message.includes('(the page says') ? message : `${message} (the page says "${printable(text)}")`);
    }
    if (date !== undefined) return date;
  }
  throw new InvalidMeetingError(`meeting date "${printable(value)}" is not a date written ${format === 'auto' ? 'in a way clerk reads' : `as ${format}`}`);
}

type DatePart = 'year' | 'month' | 'day';

/** Numbers in the given order, separated by - / . or a space, or run together (8 or 6 digits). */
function numericDate(text: string, order: readonly DatePart[]): string | undefined {
  const separated = /^(\d{1,4})([-/. ])(\d{1,4})\2(\d{1,4})$/.exec(text);
  let parts: string[] | undefined = separated ? [separated[1]!, separated[3]!, separated[4]!] : undefined;
  if (!parts && /^\d{8}$|^\d{6}$/.test(text)) {
    const yearLength = text.length === 8 ? 4 : 2;
    const widths = order.map((part) => (part === 'year' ? yearLength : 2));
    let at = 0;
    parts = widths.map((width) => text.slice(at, (at += width)));
  }
  if (!parts) return undefined;
  const value = (part: DatePart) => parts[order.indexOf(part)]!;
  const year = value('year');
  if (year.length !== 4 && year.length !== 2) return undefined;
  if (value('month').length > 2 || value('day').length > 2) return undefined;
  return isoDate(fullYear(year), Number(value('month')), Number(value('day')), text);
}

function dayFirstMonthName(text: string): string | undefined {
  const match = /^(?:[A-Za-z]+,? )?(\d{1,2})(?:st|nd|rd|th)? ([A-Za-z]{3,9})\.?,? (\d{4})$/.exec(text);
  const month = match ? monthNumber(match[2]!) : undefined;
  return match && month ? isoDate(Number(match[3]), month, Number(match[1]), text) : undefined;
}

function monthNameOrUndefined(text: string): string | undefined {
  try {
    return monthNameDate(text);
  } catch (error) {
    // "is not a real date" (February 30) is the answer; "not a date like" means try the next way.
    if (error instanceof InvalidMeetingError && /not a real date/.test(error.message)) throw error;
    return undefined;
  }
}

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

/** 1-12 for a month name or its abbreviation ("Jan", "Sept"), else undefined ("Mayor" is no month). */
export function monthNumber(name: string): number | undefined {
  const lower = name.toLowerCase();
  const index = lower.length < 3 ? -1 : lower === 'sept' ? 8 : MONTHS.findIndex((month) => month.startsWith(lower));
  return index < 0 ? undefined : index + 1;
}

export function fullYear(year: string): number {
  const value = Number(year);
  return year.length === 2 ? (value < 70 ? 2000 + value : 1900 + value) : value;
}

export function isoDate(year: number, month: number, day: number, shown: string): string {
  const iso = `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
  try {
    return parseMeetingDate(iso);
  } catch (error) {
    throw new InvalidMeetingError(`${(error as Error).message} (the page says "${printable(shown)}")`);
  }
}
