/**
 * Page layout undone before extraction: prose lines re-joined where a PDF's text layer (or OCR)
 * wrapped them, and a document's running headers and footers dropped so that its pages read as
 * one text. Names and votes often break across a line ("Mayor Angela\nMoreau", "Kris Lawrence-\n
 * Anderson") or across a page ("...Hargrove: No; and" | "Mayor de la Cruz: Aye").
 */

/** A line this long that does not end a sentence was wrapped by the layout, not by the writer. */
const WRAPPED_LINE_LENGTH = 50;

interface Line {
  text: string;
  page: number;
}

/** Ends a sentence: ".", ":", ";", "!" or "?" — but not an initial ("E."), a title ("Mr.") or "No.". */
function endsSentence(line: string): boolean {
  const t = line.trimEnd();
  if (!/[.:;!?]$/.test(t)) return false;
  if (/(?:^|[\s(])(?:\p{Lu}|Mr|Mrs|Ms|Dr|St|No|Nos|Jr|Sr|Hon|Cllr|Cllrs|Ald)\.$/u.test(t)) return false;
  return true;
}

/** A line that starts something of its own: a label ("Ayes:"), an enumerator, a bullet, a heading. */
function startsBlock(line: string): boolean {
  const t = line.trim();
  if (t === '') return true;
  if (/^[\p{L}][\p{L}'’ /&.-]{0,34}:/u.test(t)) return true;
  if (/^(?:\(?\d{1,3}(?:\.\d{1,3})*[.)]?\s|\(?[a-z]\)\s|[IVXL]{1,5}\.\s|[•·*–-]\s|\(\*?\d{2,}[-–]\d{2,}\))/u.test(t)) return true;
  // an all-caps heading ("CONSENT CALENDAR"), but not an all-caps continuation of an all-caps motion
  return !/\p{Ll}/u.test(t) && /\p{Lu}{2}/u.test(t) && t.length < 40;
}

/** A line ending like this has not finished its name or list: "... Hargrove: No; and", "... Mayor de la". */
const OPEN_ENDING_RE = /(?:^|[\s,;])(?:and|&|de|la|le|van|von|der|den|da|di|du|del|della|Mayor|Member|Councilmember|Councillor|Cllr\.?|Supervisor|Commissioner)$/u;

/** A line of capitalised words, initials and joining words only: the rest of a list of names. */
function namesOnly(line: string): boolean {
  const words = line.trim().replace(/[.,;]+$/, '').split(/[\s,]+/);
  return words.every((w) => /^(?:\p{Lu}[\p{L}'’.-]*|and|&|de|la|van|von|der|da|di|du|del|-|–|\d{1,2})$/u.test(w));
}

function shouldJoin(current: string, next: string): boolean {
  const t = current.trim();
  if (t === '' || next.trim() === '') return false;
  if (OPEN_ENDING_RE.test(t)) return true;
  if (startsBlock(next)) return false;
  if (/\p{L}-$/u.test(t)) return true;
  if (endsSentence(t)) return false;
  // a short line that plainly continues: "..., ", "... and", "... E." (an initial)
  if (/(?:,|\band|&|\p{Lu}\.)$/u.test(t)) return true;
  // a labelled list line ("Absent: Council Members X, Y") ends with its last name, unless
  // the next line goes on with names only ("O'Neill-Hayes and Jan Kristiansen")
  if (/^[\p{L}][\p{L}'’ /&.-]{0,34}:/u.test(t)) return t.length >= WRAPPED_LINE_LENGTH && namesOnly(next);
  return t.length >= WRAPPED_LINE_LENGTH;
}

/** "  • Councillor Sunita Rao": a bullet is layout; the entry is the text after it. */
const BULLET_RE = /^([ \t]*)[•·▪●◦■][ \t]*/u;

function join(input: Line[]): { text: string; pageStarts: number[] } {
  // Built as a list of lines so that joining stays linear in the document's length.
  const out: string[] = [];
  const pageStarts: number[] = [];
  let length = 0;
  let previous: Line | null = null;
  for (const raw of input) {
    const line = { ...raw, text: raw.text.replace(BULLET_RE, '$1') };
    let text = line.text;
    if (previous !== null && out.length > 0 && shouldJoin(previous.text, line.text)) {
      const last = out.pop()!;
      const trimmed = last.replace(/[ \t]+$/, '');
      length -= last.length - trimmed.length;
      const glue = /\p{L}-$/u.test(trimmed) ? '' : ' ';
      out.push(trimmed + glue);
      length += glue.length;
      text = text.trimStart();
      while (pageStarts.length <= line.page) pageStarts.push(length);
      out[out.length - 1] += text;
    } else {
      if (out.length > 0) length += 1; // the line break
      while (pageStarts.length <= line.page) pageStarts.push(length);
      out.push(text);
    }
    length += text.length;
    previous = line;
  }
  return { text: out.join('\n'), pageStarts };
}

/** A page's text with wrapped prose lines re-joined. Line-per-entry layouts (roll calls, lists) are kept. */
export function unwrapLines(text: string): string {
  return join(text.split('\n').map((t) => ({ text: t, page: 0 }))).text;
}

const HEADER_LINES = 4;
const FOOTER_LINES = 2;

/** "February 4, 2025   3" and "February 4, 2025   2" are one running header. */
function headerKey(line: string): string {
  return line.trim().toLowerCase().replace(/\d+/g, '#').replace(/\s+/g, ' ');
}

/** Page numbers and similar furniture: "2", "-2-", "Page 2 of 3", "01/13/25 -2- DRAFT". */
const PAGE_FURNITURE_RE = /^(?:page\s+#(?:\s+of\s+#)?|-?\s*#\s*-?|#\/#\/#\s+-#-\s+draft|\S+\s+page\s+#(?:\s+of\s+#)?)$/;

/** The indexes of a page's first and last lines, each keyed by its edge ("top:" or "bottom:"). */
function edgeLines(lines: string[]): Map<number, string> {
  const filled = lines.map((l, i) => [l, i] as const).filter(([l]) => l.trim() !== '');
  const edges = new Map<number, string>();
  // keyed by position too: a running header sits at the same place on every page
  filled.slice(-FOOTER_LINES).forEach(([l, i], k, all) => edges.set(i, `bottom${all.length - k}:${headerKey(l)}`));
  filled.slice(0, HEADER_LINES).forEach(([l, i], k) => edges.set(i, `top${k}:${headerKey(l)}`));
  return edges;
}

/** Running headers are titles, dates and numbers, not sentences ("Motion passed unanimously."). */
const isSentence = (line: string): boolean => /\p{Ll}[.!?]$/u.test(line.trim());

/**
 * A document's pages as one text: running headers and footers (lines at the top or bottom of a
 * page that recur on another page, and page numbers) removed, wrapped lines re-joined across
 * pages. `pageStarts[i]` is where page i begins in `text`.
 */
export function joinPages(pages: readonly string[]): { text: string; pageStarts: number[] } {
  const split = pages.map((p) => p.split('\n'));
  const edges = split.map(edgeLines);
  const seen = new Map<string, Set<number>>();
  edges.forEach((pageEdges, page) => {
    for (const key of pageEdges.values()) {
      if (!seen.has(key)) seen.set(key, new Set());
      seen.get(key)!.add(page);
    }
  });
  const lines: Line[] = [];
  split.forEach((pageLines, page) => {
    const kept = pageLines.filter((text, i) => {
      const key = edges[page]!.get(i);
      if (key === undefined) return true;
      const furniture = PAGE_FURNITURE_RE.test(headerKey(text));
      return !(furniture || ((seen.get(key)?.size ?? 0) > 1 && !isSentence(text)));
    });
    // blank lines at a page's edges are layout too: a list going on over the page break is one list
    while (kept.length > 0 && kept[0]!.trim() === '') kept.shift();
    while (kept.length > 0 && kept.at(-1)!.trim() === '') kept.pop();
    // a page that was all furniture still has a start
    if (kept.length === 0) kept.push('');
    for (const text of kept) lines.push({ text, page });
  });
  return join(lines);
}

/** The page (0-based) that an offset of a {@link joinPages} text falls on. */
export function pageAt(pageStarts: readonly number[], offset: number): number {
  let page = 0;
  for (let i = 0; i < pageStarts.length; i++) if (pageStarts[i]! <= offset) page = i;
  return page;
}
