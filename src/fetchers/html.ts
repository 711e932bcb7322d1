import * as cheerio from 'cheerio';
import type { CheerioAPI } from 'cheerio';
import type { AnyNode, Element, Text } from 'domhandler';
import { DomHandler, Parser } from 'htmlparser2';

/*
 * Reading HTML listings safely, shared by the HTML platform fetchers (http-index, civicplus,
 * granicus): a depth-capped parser and bounded text reads.
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
