import { fileURLToPath } from 'node:url';
import { permanentPdfError } from './errors.js';
import { assertLooksLikePdf } from './pdf-file-check.js';
import { runPdfChild } from './pdf-child.js';
import { fullPageScans, isPopplerAvailable, pageSizesWithPdfinfo, readTextWithPdftotext, type PageScan } from './poppler.js';
import type { PageSizePoints } from './render-budget.js';
import type { RawTextLayer } from './text-layer-child.js';

export type { PageScan } from './poppler.js';

export interface TextLayerPage {
  page: number;
  text: string;
  usable: boolean;
  /**
   * The page's size in points. pdf.js gives it for every page it can read; poppler for every page
   * of a document that has a page needing OCR (only OCR needs sizes).
   */
  size?: PageSizePoints;
  /** Set when the page is one full-page raster image (a scan): OCR reads it at the scan's resolution. */
  scan?: PageScan;
}

export interface TextLayer {
  pageCount: number;
  pages: TextLayerPage[];
  /** Which reader read the layer: poppler's pdftotext, or pdf.js (no poppler, or a file poppler could not read cleanly). */
  reader: TextLayerReader;
}

export type TextLayerReader = 'poppler' | 'pdfjs';

export interface TextLayerOptions {
  timeoutMs: number;
  maxPages?: number;
  /** 'auto' (default): poppler when installed, pdf.js otherwise and for files poppler cannot read cleanly. */
  reader?: 'auto' | TextLayerReader;
}

const childScript = fileURLToPath(new URL('./text-layer-child.ts', import.meta.url));

/**
 * Reads every page's text layer and judges, page by page, whether the text is worth keeping or
 * the page needs OCR. With poppler installed that is one `pdftotext` per document (tens of times
 * faster than pdf.js), plus, only when some page needs OCR, one `pdfinfo` for the page sizes and
 * one `pdfimages -list` to find the pages that are scans and their resolution. Without
 * poppler, or when poppler reports errors on the file, pdf.js reads it in a killable child
 * process, and its verdicts on broken files stand. Throws PermanentPdfError for files that can
 * never be read; `maxPages` turns absurdly long documents into 'too-large' before they are read.
 */
export async function readTextLayer(pdfPath: string, options: TextLayerOptions): Promise<TextLayer> {
  await assertLooksLikePdf(pdfPath);
  const reader = options.reader ?? 'auto';
  if (reader === 'poppler' || (reader === 'auto' && (await isPopplerAvailable()))) {
    const started = Date.now();
    const layer = await readWithPoppler(pdfPath, options);
    if (layer) return layer;
    return readWithPdfjs(pdfPath, { ...options, timeoutMs: Math.max(1, options.timeoutMs - (Date.now() - started)) });
  }
  return readWithPdfjs(pdfPath, options);
}

async function readWithPoppler(pdfPath: string, options: TextLayerOptions): Promise<TextLayer | undefined> {
  const { timeoutMs, maxPages } = options;
  const read = await readTextWithPdftotext(pdfPath, { timeoutMs, ...(maxPages !== undefined ? { lastPage: maxPages + 1 } : {}) });
  if (!read.ok) return undefined;
  const pageCount = read.pages.length;
  if (maxPages !== undefined && pageCount > maxPages) throw permanentPdfError('too-large', pdfPath, `more than the limit of ${maxPages} pages`);
  const pages: TextLayerPage[] = read.pages.map((text, i) => ({ page: i + 1, text, usable: isUsableTextLayer(text) }));
  const forOcr = pages.filter((p) => !p.usable);
  // Sizes and scans matter only to OCR: a document whose every page has a usable layer (most
  // born-digital minutes) costs one process.
  if (forOcr.length > 0) {
    const sizes = await pageSizesWithPdfinfo(pdfPath, 1, pageCount, timeoutMs);
    const scans = await fullPageScans(pdfPath, forOcr[0]!.page, forOcr.at(-1)!.page, sizes, timeoutMs);
    for (const page of pages) {
      const size = sizes.get(page.page);
      const scan = page.usable ? undefined : scans.get(page.page);
      if (size) page.size = size;
      if (scan) page.scan = scan;
    }
  }
  return { pageCount, pages, reader: 'poppler' };
}

async function readWithPdfjs(pdfPath: string, options: TextLayerOptions): Promise<TextLayer> {
  const args = options.maxPages === undefined ? [pdfPath] : [pdfPath, String(options.maxPages)];
  const raw = await runPdfChild<RawTextLayer>(childScript, args, { timeoutMs: options.timeoutMs, pdfPath });
  return {
    pageCount: raw.pageCount,
    pages: raw.pages.map(({ page, text, size }) => ({ page, text, usable: isUsableTextLayer(text), ...(size ? { size } : {}) })),
    reader: 'pdfjs',
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
  const letters = countLetters(text);
  if (letters < MIN_LETTERS) return false;
  // Leader dots and rules ("Call to Order ........ 3", "_____") are layout, not junk.
  const visible = text.replace(/([.\-_=·…])\1{2,}/g, '').replace(/\s+/g, '').length;
  const alphanumeric = letters + text.replace(/\P{N}+/gu, '').length;
  if (alphanumeric / visible < MIN_ALPHANUMERIC_SHARE) return false;
  const repeated = (text.match(/(\p{L})\1{4,}/gu) ?? []).reduce((sum, run) => sum + run.length, 0);
  if (repeated / letters > MAX_REPEATED_RUN_SHARE) return false;
  let letterTokens = 0;
  let words = 0;
  // Speckle read as "i l I ; 1 I" is all one-letter tokens: real text keeps its letters in longer words.
  let lettersInLongerWords = 0;
  for (const token of text.split(/\s+/)) {
    // Plain ASCII words, nearly all tokens of English minutes, take a short path with the same verdict.
    const ascii = ASCII_WORD.exec(token);
    if (!ascii && !/\p{L}/u.test(token)) continue;
    letterTokens++;
    const wordLetters = ascii ? asciiWordLetters(ascii[1]!) : wordLetterCount(token);
    if (wordLetters === 0) continue;
    words++;
    if (wordLetters >= 2) lettersInLongerWords += wordLetters;
  }
  if (words / letterTokens < MIN_WORDLIKE_SHARE) return false;
  return lettersInLongerWords / letters >= MIN_LETTERS_IN_WORDS_SHARE;
}

/** An ASCII token whose letters are one run, with only ASCII non-letters around it ("Ortiz,", "(the"). */
const ASCII_WORD = /^[^A-Za-z\u0080-\uffff]*([A-Za-z]+)[^A-Za-z\u0080-\uffff]*$/;

/** wordLetterCount for the letters of an ASCII_WORD token, without Unicode classes. */
function asciiWordLetters(letters: string): number {
  if (!/^(?:[A-Z]?[a-z]*|[A-Z]+)$/.test(letters)) return 0;
  if (letters.length === 1) return /^[aAI]$/.test(letters) ? 1 : 0;
  const folded = letters.toLowerCase();
  return /[aeiouy]/.test(folded) && !/[bcdfghjklmnpqrstvwxz]{6,}/.test(folded) ? letters.length : 0;
}

/**
 * A word: letters only (inner apostrophes, hyphens and dots allowed: don't, co-op, U.S.), in a
 * normal case pattern, and if longer than a letter, with a vowel and no implausible consonant run.
 * "tl1e", "xKqT" and "Wrtpz" fail; "Councilmember", "ADOPTED" and "a" pass. Answers the word's
 * number of letters, or 0 for a token that is not a word.
 */
function wordLetterCount(token: string): number {
  const word = token.replace(/^[^\p{L}]+|[^\p{L}]+$/gu, '');
  if (!/^\p{L}+(?:['’.\-]\p{L}+)*$/u.test(word)) return 0;
  const letters = word.replace(/['’.\-]/g, '');
  return plausibleLetters(letters, letters.normalize('NFD').toLowerCase());
}

function plausibleLetters(letters: string, folded: string): number {
  if (!/^(?:\p{Lu}?\p{Ll}*|\p{Lu}+)$/u.test(letters)) return 0;
  // The English one-letter words; any other lone letter is a speck or a stroke.
  if (letters.length === 1) return /^[aAI]$/.test(letters) ? 1 : 0;
  return /[aeiouy]/.test(folded) && !/[bcdfghjklmnpqrstvwxz]{6,}/.test(folded) ? countLetters(letters) : 0;
}

function countLetters(text: string): number {
  return text.replace(/\P{L}+/gu, '').length;
}
