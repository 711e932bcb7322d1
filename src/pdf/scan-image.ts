import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { permanentPdfError } from './errors.js';
import { runLaunched } from './launcher.js';

/**
 * Takes the scanned image out of a page that is one full-page scan (poppler's `pdfimages`), so OCR
 * reads the scanner's own pixels: rendering the page, even at the scan's exact resolution,
 * resamples them, and measurably costs accuracy (docs/BENCHMARKS.md, OCR quality). The image is
 * written as a binary grayscale PGM at `outPath`, complete or not at all, like a rendered page.
 *
 * Answers false when the image cannot be taken out as a plain bitmap (pdfimages failed on it, or
 * wrote something other than a PNM): the caller renders the page instead. A crash or a hang of
 * pdfimages is the file's fault, as with a renderer, and throws PermanentPdfError.
 */
export async function extractScanToPgm(pdfPath: string, pageNumber: number, options: { timeoutMs: number; outPath: string }): Promise<boolean> {
  const dir = `${options.outPath}.scan-${randomUUID()}`;
  await fs.mkdir(dir);
  try {
    const page = String(pageNumber);
    const outcome = await runLaunched('pdfimages', ['-f', page, '-l', page, pdfPath, path.join(dir, 'image')], { timeoutMs: options.timeoutMs });
    if (outcome.timedOut) throw permanentPdfError('renderer-timeout', pdfPath, `pdfimages did not finish page ${pageNumber} within ${options.timeoutMs} ms`);
    if (outcome.signal) throw permanentPdfError('renderer-crashed', pdfPath, `pdfimages was killed by ${outcome.signal} on page ${pageNumber}`);
    if (outcome.exitCode !== 0) return false;
    const files = await fs.readdir(dir);
    if (files.length !== 1) return false;
    const gray = pnmToGray(await fs.readFile(path.join(dir, files[0]!)));
    if (!gray) return false;
    const partial = `${options.outPath}.partial-${randomUUID()}`;
    await fs.writeFile(partial, gray);
    await fs.rename(partial, options.outPath);
    return true;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * A PNM as pdfimages writes it (P4 bitmap, P5 gray, P6 colour; 8-bit) as a binary 8-bit PGM:
 * colour by its luma, a bitmap's black as 0. Undefined for anything else.
 */
export function pnmToGray(bytes: Buffer): Buffer | undefined {
  const header = /^P([456])\s+(?:#[^\n]*\s+)*(\d+)\s+(\d+)\s(?:\s*(\d+)\s)?/.exec(bytes.toString('latin1', 0, 64));
  if (!header) return undefined;
  const kind = header[1]!;
  const width = Number(header[2]);
  const height = Number(header[3]);
  const maxval = kind === '4' ? 1 : Number(header[4]);
  if (kind !== '4' && maxval !== 255) return undefined;
  const start = header[0].length;
  const out = Buffer.allocUnsafe(width * height);
  if (kind === '5') {
    if (bytes.length - start < out.length) return undefined;
    bytes.copy(out, 0, start, start + out.length);
  } else if (kind === '6') {
    if (bytes.length - start < out.length * 3) return undefined;
    for (let i = 0, j = start; i < out.length; i++, j += 3) {
      // Rec. 601 luma in integer arithmetic: (77 R + 150 G + 29 B) / 256.
      out[i] = (77 * bytes[j]! + 150 * bytes[j + 1]! + 29 * bytes[j + 2]!) >> 8;
    }
  } else {
    const rowBytes = Math.ceil(width / 8);
    if (bytes.length - start < rowBytes * height) return undefined;
    for (let y = 0; y < height; y++) {
      const row = start + y * rowBytes;
      for (let x = 0; x < width; x++) out[y * width + x] = (bytes[row + (x >> 3)]! >> (7 - (x & 7))) & 1 ? 0 : 255;
    }
  }
  return Buffer.concat([Buffer.from(`P5\n${width} ${height}\n255\n`, 'ascii'), out]);
}
