import { permanentPdfError } from './errors.js';
import { tidy } from './join-text-items.js';
import type { PageSizePoints } from './render-budget.js';
import { runLaunched } from './launcher.js';
import { runWithDeadline } from './subprocess.js';

/**
 * Poppler's command-line tools (poppler-utils), each a subprocess under a kill-timeout: a whole
 * document's text layer from one `pdftotext`, page sizes from one `pdfinfo`, and the embedded
 * images of a page range from one `pdfimages -list`. All three only read the file; a page that
 * crashes or hangs one of them costs that process, never the caller.
 */

let available: Promise<boolean> | undefined;

/** Whether poppler-utils is installed (pdftotext runs). Asked once per process. */
export function isPopplerAvailable(): Promise<boolean> {
  available ??= runWithDeadline('pdftotext', ['-v'], { timeoutMs: 10_000 }).then((outcome) => outcome.exitCode === 0);
  return available;
}

/** More text than any sane document holds: 256 MB of characters. */
const MAX_TEXT_CHARS = 256 * 1024 * 1024;

export type PdftotextOutcome = { ok: true; pages: string[] } | { ok: false; why: string };

/**
 * Every page's text, in poppler's reading order (columns one after another), from one
 * `pdftotext` process. With `lastPage`, stops reading there. Answers `ok: false` when poppler
 * could not read the file cleanly (a damaged or encrypted file, or errors on the way): the
 * caller then asks pdf.js, whose verdicts on broken files the rest of clerk relies on.
 * Throws renderer-timeout when the deadline passes.
 */
export async function readTextWithPdftotext(pdfPath: string, options: { timeoutMs: number; lastPage?: number }): Promise<PdftotextOutcome> {
  const args = ['-enc', 'UTF-8', ...(options.lastPage !== undefined ? ['-l', String(options.lastPage)] : []), pdfPath, '-'];
  const outcome = await runLaunched('pdftotext', args, { timeoutMs: options.timeoutMs, captureStdout: true, stdoutLimit: MAX_TEXT_CHARS });
  if (outcome.timedOut) throw permanentPdfError('renderer-timeout', pdfPath, `pdftotext did not finish within ${options.timeoutMs} ms`);
  if (outcome.spawnError) return { ok: false, why: `pdftotext could not be started (${outcome.spawnError.code})` };
  if (outcome.signal) return { ok: false, why: `pdftotext was killed by ${outcome.signal}` };
  if (outcome.exitCode !== 0) return { ok: false, why: `pdftotext exit code ${outcome.exitCode}: ${outcome.stderr.trim().split('\n').at(-1) ?? ''}` };
  // Poppler repairs what it can and says so on stderr; a repaired file's verdict is pdf.js's to give.
  if (/Error/.test(outcome.stderr)) return { ok: false, why: `pdftotext reported errors: ${outcome.stderr.trim().split('\n')[0]}` };
  if (outcome.stdoutTruncated) return { ok: false, why: 'the text layer is larger than pdftotext output is read' };
  // pdftotext ends every page, the last included, with a form feed.
  const parts = outcome.stdout.split('\f');
  const pages = parts.slice(0, -1).map(tidy);
  if (pages.length === 0) return { ok: false, why: 'pdftotext found no pages' };
  return { ok: true, pages };
}

/** Each page's size in points (its MediaBox turned by /Rotate), for pages first..last, from one `pdfinfo`. */
export async function pageSizesWithPdfinfo(pdfPath: string, first: number, last: number, timeoutMs: number): Promise<Map<number, PageSizePoints>> {
  const lastArg = Number.isSafeInteger(last) && last < 1e9 ? String(last) : '1000000000';
  const outcome = await runLaunched('pdfinfo', ['-f', String(first), '-l', lastArg, pdfPath], { timeoutMs, captureStdout: true, stdoutLimit: 16 * 1024 * 1024 });
  if (outcome.timedOut) throw permanentPdfError('renderer-timeout', pdfPath, `pdfinfo did not finish within ${timeoutMs} ms`);
  const sizes = new Map<number, PageSizePoints>();
  const rotations = new Map<number, number>();
  for (const match of outcome.stdout.matchAll(/^Page\s+(\d+)\s+rot:\s+(\d+)/gm)) rotations.set(Number(match[1]), Number(match[2]));
  for (const match of outcome.stdout.matchAll(/^Page\s+(\d+)\s+size:\s+([\d.]+)\s+x\s+([\d.]+)\s+pts/gm)) {
    const page = Number(match[1]);
    const [width, height] = [Number(match[2]), Number(match[3])];
    sizes.set(page, (rotations.get(page) ?? 0) % 180 === 90 ? { width: height, height: width } : { width, height });
  }
  return sizes;
}

/** A page that is one raster image covering the page: a scan. Its resolution is the scan's own. */
export interface PageScan {
  /** The image's resolution on the page, pixels per inch (the larger of its two axes). */
  ppi: number;
  widthPx: number;
  heightPx: number;
}

/** A page's image must cover at least this share of the page to count as the whole page. */
const FULL_PAGE_SHARE = 0.85;

/**
 * The pages among first..last that are one full-page raster image, with that image's resolution,
 * from one `pdfimages -list` (which lists images without decoding them). A page with several
 * images, a stencil mask, or an image covering only part of the page is not a scan: it is left out
 * and gets rendered. Failures answer an empty map: rendering at the default dpi is always possible.
 */
export async function fullPageScans(pdfPath: string, first: number, last: number, sizes: ReadonlyMap<number, PageSizePoints>, timeoutMs: number): Promise<Map<number, PageScan>> {
  const outcome = await runLaunched('pdfimages', ['-list', '-f', String(first), '-l', String(last), pdfPath], { timeoutMs, captureStdout: true, stdoutLimit: 16 * 1024 * 1024 });
  const scans = new Map<number, PageScan>();
  if (outcome.exitCode !== 0) return scans;
  const images = new Map<number, { type: string; width: number; height: number; xPpi: number; yPpi: number }[]>();
  // page num type width height color comp bpc enc interp object ID x-ppi y-ppi size ratio
  for (const line of outcome.stdout.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 14 || !/^\d+$/.test(fields[0]!)) continue;
    const page = Number(fields[0]);
    const entry = { type: fields[2]!, width: Number(fields[3]), height: Number(fields[4]), xPpi: Number(fields[12]), yPpi: Number(fields[13]) };
    images.set(page, [...(images.get(page) ?? []), entry]);
  }
  for (const [page, list] of images) {
    const size = sizes.get(page);
    const [image] = list;
    if (!size || list.length !== 1 || image!.type !== 'image' || !(image!.xPpi > 0 && image!.yPpi > 0)) continue;
    const coveredSquareInches = (image!.width / image!.xPpi) * (image!.height / image!.yPpi);
    const pageSquareInches = (size.width / 72) * (size.height / 72);
    if (coveredSquareInches < FULL_PAGE_SHARE * pageSquareInches) continue;
    scans.set(page, { ppi: Math.max(image!.xPpi, image!.yPpi), widthPx: image!.width, heightPx: image!.height });
  }
  return scans;
}
