/** The parts of a pdf.js TextItem this needs; marked-content items have no `str` and are skipped. */
export interface PositionedText {
  str: string;
  hasEOL: boolean;
  /** [a, b, c, d, x, y]: the text's transform; x and y are its baseline origin. */
  transform: number[];
  width: number;
  height: number;
}

/**
 * Joins a page's text items into lines. pdf.js marks most line ends with hasEOL, but not all
 * producers give it enough to go on, so a baseline that moves by more than half a line height
 * also starts a new line, and a visible horizontal gap between items becomes a space.
 */
export function joinTextItems(items: readonly (PositionedText | object)[]): string {
  let text = '';
  let previous: PositionedText | undefined;
  for (const item of items) {
    if (!isPositionedText(item)) continue;
    if (previous && !previous.hasEOL) text += separatorBetween(previous, item);
    text += item.str;
    if (item.hasEOL) text += '\n';
    previous = item;
  }
  return tidy(text);
}

function isPositionedText(item: object): item is PositionedText {
  return 'str' in item && 'transform' in item;
}

function separatorBetween(previous: PositionedText, next: PositionedText): string {
  const lineHeight = Math.max(previous.height, next.height, 1);
  const [, , , , previousX = 0, previousY = 0] = previous.transform;
  const [, , , , nextX = 0, nextY = 0] = next.transform;
  if (Math.abs(nextY - previousY) > lineHeight / 2) return '\n';
  const gap = nextX - (previousX + previous.width);
  const alreadySpaced = /\s$/.test(previous.str) || /^\s/.test(next.str);
  return gap > lineHeight * 0.15 && !alreadySpaced ? ' ' : '';
}

/** Trailing spaces off every line, runs of blank lines down to one, no blank edges. */
export function tidy(text: string): string {
  return text
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
