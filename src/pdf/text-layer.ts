import { fileURLToPath } from 'node:url';
import { assertLooksLikePdf } from './pdf-file-check.js';
import { runPdfChild } from './pdf-child.js';
import type { PageSizePoints } from './render-budget.js';
import type { RawTextLayer } from './text-layer-child.js';

export interface TextLayer {
  pageCount: number;
  /** `size` is unset for a page pdf.js could not read. */
  pages: { page: number; text: string; usable: boolean; size?: PageSizePoints }[];
}

const childScript = fileURLToPath(new URL('./text-layer-child.ts', import.meta.url));

/**
 * Reads every page's text layer in one killable child process and judges, page by page, whether
 * the text is worth keeping or the page needs OCR. Throws PermanentPdfError for files that can
 * never be read; `maxPages` turns absurdly long documents into 'too-large' before any page is read.
 */
export async function readTextLayer(pdfPath: string, options: { timeoutMs: number; maxPages?: number }): Promise<TextLayer> {
  await assertLooksLikePdf(pdfPath);
  const args = options.maxPages === undefined ? [pdfPath] : [pdfPath, String(options.maxPages)];
  const raw = await runPdfChild<RawTextLayer>(childScript, args, { timeoutMs: options.timeoutMs, pdfPath });
  return {
    pageCount: raw.pageCount,
    pages: raw.pages.map(({ page, text, size }) => ({ page, text, usable: isUsableTextLayer(text), ...(size ? { size } : {}) })),
  };
}

/** Fewer letters than a short sentence: a page number, a stamp, a scanner's signature. */
const MIN_LETTERS = 20;
/** Real text, even a budget table, is mostly letters and digits; scanner junk is mostly symbols. */
const MIN_ALPHANUMERIC_SHARE = 0.6;
/** Share of letter-bearing tokens that must look like words of a natural language. */
const MIN_WORDLIKE_SHARE = 0.5;
/** Share of all letters that must sit in such words of two letters or more. */
const MIN_LETTERS_IN_WORDS_SHARE = 0.5;
/** Runs like "lllllll" or "IIIIII" are what bad OCR makes of rules, borders and speckle. */
const MAX_REPEATED_RUN_SHARE = 0.1;

/**
 * Whether a page's text layer is real text rather than nothing or junk. Scanners often embed
 * their own OCR layer, and a bad one is worse than none: it hides the page from our OCR. The
 * tests are cheap statistics over characters and tokens, tuned to accept English council prose
 * and tables while rejecting symbol soup, consonant gibberish and long repeated runs.
 */
export function isUsableTextLayer(text: string): boolean {
  const letters = count(text, /\p{L}/gu);
  if (letters < MIN_LETTERS) return false;
  // Leader dots and rules ("Call to Order ........ 3", "_____") are layout, not junk.
  const visible = count(text.replace(/([.\-_=·…])\1{2,}/g, ''), /\S/gu);
  const alphanumeric = letters + count(text, /\p{N}/gu);
  if (alphanumeric / visible < MIN_ALPHANUMERIC_SHARE) return false;
  const repeated = (text.match(/(\p{L})\1{4,}/gu) ?? []).reduce((sum, run) => sum + run.length, 0);
  if (repeated / letters > MAX_REPEATED_RUN_SHARE) return false;
  const letterTokens = text.split(/\s+/).filter((token) => /\p{L}/u.test(token));
  const words = letterTokens.filter(looksLikeWord);
  if (words.length / letterTokens.length < MIN_WORDLIKE_SHARE) return false;
  // Speckle read as "i l I ; 1 I" is all one-letter tokens: real text keeps its letters in longer words.
  const lettersInLongerWords = words.map((word) => count(word, /\p{L}/gu)).filter((n) => n >= 2).reduce((sum, n) => sum + n, 0);
  return lettersInLongerWords / letters >= MIN_LETTERS_IN_WORDS_SHARE;
}

/**
 * A word: letters only (inner apostrophes, hyphens and dots allowed: don't, co-op, U.S.), in a
 * normal case pattern, and if longer than a letter, with a vowel and no implausible consonant run.
 * "tl1e", "xKqT" and "Wrtpz" fail; "Councilmember", "ADOPTED" and "a" pass.
 */
function looksLikeWord(token: string): boolean {
  const word = token.replace(/^[^\p{L}]+|[^\p{L}]+$/gu, '');
  if (!/^\p{L}+(?:['’.\-]\p{L}+)*$/u.test(word)) return false;
  const letters = word.replace(/['’.\-]/g, '');
  if (!/^(?:\p{Lu}?\p{Ll}*|\p{Lu}+)$/u.test(letters)) return false;
  // The English one-letter words; any other lone letter is a speck or a stroke.
  if (letters.length === 1) return /^[aAI]$/.test(letters);
  const folded = letters.normalize('NFD').toLowerCase();
  return /[aeiouy]/.test(folded) && !/[bcdfghjklmnpqrstvwxz]{6,}/.test(folded);
}

function count(text: string, pattern: RegExp): number {
  return text.match(pattern)?.length ?? 0;
}
