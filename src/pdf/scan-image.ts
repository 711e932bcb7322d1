import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { parsePgm, type Pgm } from '../ocr/page-image.js';
import { permanentPdfError } from './errors.js';
import { runLaunched } from './launcher.js';

/**
 * Takes the scanned image out of a page that is one full-page scan (poppler's `pdfimages`), so OCR
 * reads the scanner's own pixels: rendering the page, even at the scan's exact resolution,
 * resamples them, and measurably costs accuracy (docs/BENCHMARKS.md, OCR quality). The image is
 * written as a binary grayscale PGM at `outPath`, complete or not at all, like a rendered page, and
 * returned, so the caller can look at it (is it blank?) without reading it back.
 *
 * Answers undefined when the image cannot be taken out as a plain bitmap (pdfimages failed on it,
 * or wrote something other than a PNM): the caller renders the page instead. A crash or a hang of
 * pdfimages is the file's fault, as with a renderer, and throws PermanentPdfError.
 */
export async function extractScanToPgm(pdfPath: string, pageNumber: number, options: { timeoutMs: number; outPath: string }): Promise<Pgm | undefined> {
  const dir = `${options.outPath}.scan-${randomUUID()}`;
  await fs.mkdir(dir);
  try {
    const page = String(pageNumber);
    const outcome = await runLaunched('pdfimages', ['-f', page, '-l', page, pdfPath, path.join(dir, 'image')], { timeoutMs: options.timeoutMs });
    if (outcome.timedOut) throw permanentPdfError('renderer-timeout', pdfPath, `pdfimages did not finish page ${pageNumber} within ${options.timeoutMs} ms`);
    if (outcome.signal) throw permanentPdfError('renderer-crashed', pdfPath, `pdfimages was killed by ${outcome.signal} on page ${pageNumber}`);
    if (outcome.exitCode !== 0) return undefined;
    const files = await fs.readdir(dir);
    if (files.length !== 1) return undefined;
    const gray = await readPnmAsGray(path.join(dir, files[0]!));
    if (!gray) return undefined;
    const partial = `${options.outPath}.partial-${randomUUID()}`;
    await fs.writeFile(partial, gray);
    await fs.rename(partial, options.outPath);
    return parsePgm(gray, options.outPath);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** A PNM's kind (4 bitmap, 5 gray, 6 colour), size and where its pixels start; undefined for anything else. */
interface PnmLayout {
  kind: '4' | '5' | '6';
  width: number;
  height: number;
  pixelsStart: number;
  /** Bytes per row of pixels in the file. */
  rowBytes: number;
}

function pnmLayout(head: Buffer): PnmLayout | undefined {
  const header = /^P([456])\s+(?:#[^\n]*\s+)*(\d+)\s+(\d+)\s(?:\s*(\d+)\s)?/.exec(head.toString('latin1', 0, Math.min(head.length, 64)));
  if (!header) return undefined;
  const kind = header[1] as PnmLayout['kind'];
  const width = Number(header[2]);
  const height = Number(header[3]);
  if (kind !== '4' && Number(header[4]) !== 255) return undefined;
  const rowBytes = kind === '4' ? Math.ceil(width / 8) : kind === '5' ? width : width * 3;
  return { kind, width, height, pixelsStart: header[0].length, rowBytes };
}

/** An empty binary PGM of the PNM's size, its header written, and a view of its pixels. */
function pgmFor(layout: PnmLayout): { pgm: Buffer; pixels: Uint8Array } {
  const header = Buffer.from(`P5\n${layout.width} ${layout.height}\n255\n`, 'ascii');
  const pgm = Buffer.allocUnsafe(header.length + layout.width * layout.height);
  header.copy(pgm, 0);
  return { pgm, pixels: new Uint8Array(pgm.buffer, pgm.byteOffset + header.length, layout.width * layout.height) };
}

/**
 * Whole rows of a PNM's pixels (`rows`, starting at row `firstRow`) into 8-bit gray: colour by its
 * luma, a bitmap's black as 0. It runs on the worker's event loop for every scanned page, on the
 * cores tesseract needs, so it reads plain Uint8Array views (faster in V8 than indexing a Buffer).
 */
function rowsToGray(layout: PnmLayout, rows: Uint8Array, firstRow: number, out: Uint8Array): void {
  const { kind, width } = layout;
  const rowCount = rows.length / layout.rowBytes;
  const at = firstRow * width;
  if (kind === '5') {
    out.set(rows, at);
  } else if (kind === '6') {
    for (let i = 0, j = 0, n = rowCount * width; i < n; i++, j += 3) {
      // Rec. 601 luma in integer arithmetic: (77 R + 150 G + 29 B) / 256.
      out[at + i] = (77 * rows[j]! + 150 * rows[j + 1]! + 29 * rows[j + 2]!) >> 8;
    }
  } else {
    for (let y = 0; y < rowCount; y++) {
      const row = y * layout.rowBytes;
      const outRow = at + y * width;
      for (let x = 0; x < width; x++) out[outRow + x] = (rows[row + (x >> 3)]! >> (7 - (x & 7))) & 1 ? 0 : 255;
    }
  }
}

/**
 * A PNM as pdfimages writes it (P4 bitmap, P5 gray, P6 colour; 8-bit) as a binary 8-bit PGM.
 * Undefined for anything else, or a truncated image.
 */
export function pnmToGray(bytes: Buffer): Buffer | undefined {
  const layout = pnmLayout(bytes);
  if (!layout) return undefined;
  const need = layout.rowBytes * layout.height;
  if (bytes.length - layout.pixelsStart < need) return undefined;
  const { pgm, pixels } = pgmFor(layout);
  rowsToGray(layout, new Uint8Array(bytes.buffer, bytes.byteOffset + layout.pixelsStart, need), 0, pixels);
  return pgm;
}

/** How much of a PNM file is read at a time: whole rows, about this many bytes. */
const READ_CHUNK_BYTES = 256 * 1024;

/**
 * pnmToGray for a file, read a few rows at a time into one small buffer. A letter-size colour scan
 * at 300 ppi is a 25 MB PPM: read whole, every page would hand V8 that much memory outside its heap,
 * and the full collections that pressure forces (hundreds of ms on a worker's heap) cost OCR more
 * than the conversion itself.
 */
export async function readPnmAsGray(file: string): Promise<Buffer | undefined> {
  const handle = await fs.open(file, 'r');
  try {
    const head = Buffer.alloc(64);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const layout = pnmLayout(head.subarray(0, bytesRead));
    if (!layout) return undefined;
    const { pgm, pixels } = pgmFor(layout);
    const rowsPerChunk = Math.max(1, Math.floor(READ_CHUNK_BYTES / layout.rowBytes));
    const chunk = new Uint8Array(rowsPerChunk * layout.rowBytes);
    for (let row = 0; row < layout.height; row += rowsPerChunk) {
      const rows = Math.min(rowsPerChunk, layout.height - row);
      const want = rows * layout.rowBytes;
      let got = 0;
      while (got < want) {
        const { bytesRead: n } = await handle.read(chunk, got, want - got, layout.pixelsStart + row * layout.rowBytes + got);
        if (n === 0) return undefined; // truncated
        got += n;
      }
      rowsToGray(layout, chunk.subarray(0, want), row, pixels);
    }
    return pgm;
  } finally {
    await handle.close();
  }
}
