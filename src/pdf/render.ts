import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { permanentPdfError } from './errors.js';
import { assertLooksLikePdf } from './pdf-file-check.js';
import { runPdfChild } from './pdf-child.js';
import { fitRenderDpi, MAX_RENDER_PIXELS, pageTooLargeError, type PageSizePoints } from './render-budget.js';
import { runLaunched } from './launcher.js';
import { runWithDeadline } from './subprocess.js';

export type PdfRenderer = 'pdftoppm' | 'pdfjs';

export interface RenderOptions {
  dpi: number;
  timeoutMs: number;
  outPath: string;
  /** 'auto' prefers poppler's pdftoppm (faster, more faithful) and falls back to pdf.js. */
  renderer?: 'auto' | PdfRenderer;
  /** The render budget; default MAX_RENDER_PIXELS. */
  maxPixels?: number;
  /** The page's size when already known (from the text-layer pass); otherwise pdftoppm's path asks pdfinfo. */
  pageSize?: PageSizePoints;
}

const childScript = fileURLToPath(new URL('./render-child.ts', import.meta.url));

/**
 * Renders one page to a binary grayscale PGM (P5), the format both OCR engines read directly.
 * The renderer always runs as a subprocess under a kill-timeout, so a page that crashes or hangs
 * it becomes a PermanentPdfError instead of taking the caller down. The image appears at
 * `outPath` complete or not at all: a killed renderer leaves no half-written file behind.
 * A page too big for the requested dpi is rendered at the highest dpi within MAX_RENDER_PIXELS
 * (render-budget.ts); the dpi used is returned.
 */
export async function renderPageToPgm(pdfPath: string, pageNumber: number, options: RenderOptions): Promise<{ dpi: number }> {
  if (!Number.isInteger(pageNumber) || pageNumber < 1) throw new RangeError(`Page numbers start at 1; got ${pageNumber}.`);
  await assertLooksLikePdf(pdfPath);
  const renderer = options.renderer === undefined || options.renderer === 'auto' ? await detectRenderer() : options.renderer;
  // pdftoppm names its output <prefix>.pgm; the pdf.js child is given the same name.
  const maxPixels = options.maxPixels ?? MAX_RENDER_PIXELS;
  const partialPrefix = `${options.outPath}.partial-${randomUUID()}`;
  const partialPath = `${partialPrefix}.pgm`;
  try {
    const dpi =
      renderer === 'pdftoppm'
        ? await renderWithPdftoppm(pdfPath, pageNumber, options, partialPrefix)
        : await runPdfChild<number>(childScript, [pdfPath, String(pageNumber), String(options.dpi), String(maxPixels), partialPath], {
            timeoutMs: options.timeoutMs,
            pdfPath,
          });
    await fs.rename(partialPath, options.outPath);
    return { dpi };
  } finally {
    await fs.rm(partialPath, { force: true });
  }
}

let detected: Promise<PdfRenderer> | undefined;

/** pdftoppm when poppler-utils is installed, else pdf.js. Asked once per process. */
export function detectRenderer(): Promise<PdfRenderer> {
  detected ??= runWithDeadline('pdftoppm', ['-v'], { timeoutMs: 10_000 }).then((outcome) =>
    outcome.exitCode === 0 ? 'pdftoppm' : 'pdfjs',
  );
  return detected;
}

async function renderWithPdftoppm(pdfPath: string, pageNumber: number, options: RenderOptions, outPrefix: string): Promise<number> {
  const page = String(pageNumber);
  const size = options.pageSize ?? (await pdftoppmPageSize(pdfPath, pageNumber, options.timeoutMs));
  const maxPixels = options.maxPixels ?? MAX_RENDER_PIXELS;
  const dpi = size ? fitRenderDpi(size, options.dpi, maxPixels) : options.dpi;
  if (dpi === null) throw pageTooLargeError(pdfPath, pageNumber, size!, options.dpi, maxPixels);
  const args = ['-gray', '-r', String(dpi), '-f', page, '-l', page, '-singlefile', pdfPath, outPrefix];
  const outcome = await runLaunched('pdftoppm', args, { timeoutMs: options.timeoutMs });
  if (outcome.spawnError) {
    throw new Error(`pdftoppm could not be started (${outcome.spawnError.code}); install poppler-utils or use the pdfjs renderer.`);
  }
  if (outcome.timedOut) throw permanentPdfError('renderer-timeout', pdfPath, `pdftoppm did not finish page ${pageNumber} within ${options.timeoutMs} ms`);
  if (outcome.signal) throw permanentPdfError('renderer-crashed', pdfPath, `pdftoppm was killed by ${outcome.signal} on page ${pageNumber}`);
  if (outcome.exitCode === 0) return dpi;
  throw pdftoppmFailure(outcome.exitCode, outcome.stderr, pdfPath, pageNumber);
}

/**
 * The page's size in points, from poppler's pdfinfo. Undefined when pdfinfo cannot tell (a file it
 * cannot open): pdftoppm then runs as asked and gives its own verdict on the file.
 */
async function pdftoppmPageSize(pdfPath: string, pageNumber: number, timeoutMs: number): Promise<PageSizePoints | undefined> {
  const page = String(pageNumber);
  const outcome = await runWithDeadline('pdfinfo', ['-f', page, '-l', page, pdfPath], { timeoutMs, captureStdout: true });
  if (outcome.timedOut) throw permanentPdfError('renderer-timeout', pdfPath, `pdfinfo did not read page ${pageNumber} within ${timeoutMs} ms`);
  const match = /^Page\s+\d+\s+size:\s+([\d.]+)\s+x\s+([\d.]+)\s+pts/m.exec(outcome.stdout);
  return match ? { width: Number(match[1]), height: Number(match[2]) } : undefined;
}

/** pdftoppm's exit codes: 1 = could not open the PDF, 3 = permissions, 99 = anything else. */
function pdftoppmFailure(exitCode: number | null, stderr: string, pdfPath: string, pageNumber: number): Error {
  const detail = `pdftoppm: ${stderr.trim().split('\n').slice(-2).join(' / ')}`;
  if (/Incorrect password/i.test(stderr) || exitCode === 3) return permanentPdfError('encrypted', pdfPath, detail);
  if (exitCode === 1) return permanentPdfError('corrupt', pdfPath, detail);
  if (/Invalid page count 0|last page \(0\)/.test(stderr)) return permanentPdfError('empty', pdfPath, detail);
  if (/Wrong page range/.test(stderr)) return new RangeError(`Page ${pageNumber} does not exist in ${pdfPath} (${detail}).`);
  // Left retryable: code 99 also covers a full disk or an unwritable output directory.
  return new Error(`pdftoppm failed on page ${pageNumber} of ${pdfPath} with exit code ${exitCode} (${detail}).`);
}
