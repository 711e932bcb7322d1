import fs from 'node:fs/promises';

/**
 * The page images OCR reads are binary PGMs (P5, 8-bit grayscale), as the renderers write them.
 * This module answers two questions about one without an OCR engine: is there any ink on it, and
 * what is it turned by a quarter or half turn.
 */

export interface Pgm {
  width: number;
  height: number;
  /** One byte per pixel, rows top to bottom. */
  pixels: Uint8Array;
}

export async function readPgm(pgmPath: string): Promise<Pgm> {
  return parsePgm(await fs.readFile(pgmPath), pgmPath);
}

export function parsePgm(bytes: Uint8Array, name = 'the image'): Pgm {
  // "P5" whitespace width whitespace height whitespace maxval single-whitespace pixels; # comments allowed.
  const header: number[] = [];
  let i = 2;
  if (bytes[0] !== 0x50 || bytes[1] !== 0x35) throw new Error(`${name} is not a binary PGM (P5)`);
  while (header.length < 3 && i < bytes.length) {
    const c = bytes[i]!;
    if (c === 0x23) {
      while (i < bytes.length && bytes[i] !== 0x0a) i++;
    } else if (c >= 0x30 && c <= 0x39) {
      let n = 0;
      while (i < bytes.length && bytes[i]! >= 0x30 && bytes[i]! <= 0x39) n = n * 10 + (bytes[i++]! - 0x30);
      header.push(n);
      continue;
    }
    i++;
  }
  const [width = 0, height = 0, maxval = 0] = header;
  if (maxval !== 255) throw new Error(`${name} is not an 8-bit PGM (maxval ${maxval})`);
  // Exactly one whitespace byte separates maxval from the pixels.
  const start = i + 1;
  if (bytes.length - start < width * height) throw new Error(`${name} is truncated: ${bytes.length - start} of ${width * height} pixel bytes`);
  // A plain view (not a Buffer) of the pixel bytes, without copying them.
  return { width, height, pixels: new Uint8Array(bytes.buffer, bytes.byteOffset + start, width * height) };
}

export function encodePgm(image: Pgm): Buffer {
  return Buffer.concat([Buffer.from(`P5\n${image.width} ${image.height}\n255\n`, 'ascii'), image.pixels]);
}

/** A pixel darker than this is ink (on a 0-255 scale, 0 black). */
const INK_LEVEL = 128;
/** The outer share of each side that is ignored: scanner lids, punched holes and page edges leave dark borders there. */
const EDGE_SHARE = 0.05;
/**
 * Below this share of dark pixels, a page holds no writing: a separator sheet with dust on it.
 * One short line of 10 pt text at 300 ppi is about 1 in 10,000 of a letter page's pixels; a
 * few specks are well below that.
 */
export const BLANK_INK_SHARE = 0.0001;

/** The share of the page's inner area (edges ignored) that is ink, sampling every other pixel of every other row. */
export function inkShare(image: Pgm): number {
  const { width, height, pixels } = image;
  const x0 = Math.floor(width * EDGE_SHARE);
  const x1 = width - x0;
  const y0 = Math.floor(height * EDGE_SHARE);
  const y1 = height - y0;
  let ink = 0;
  let seen = 0;
  for (let y = y0; y < y1; y += 2) {
    const row = y * width;
    for (let x = x0; x < x1; x += 2) {
      if (pixels[row + x]! < INK_LEVEL) ink++;
      seen++;
    }
  }
  return seen === 0 ? 0 : ink / seen;
}

export function isBlankPage(image: Pgm): boolean {
  return inkShare(image) < BLANK_INK_SHARE;
}

/** The image turned clockwise by 90, 180 or 270 degrees. */
export function rotatePgm(image: Pgm, degreesClockwise: 90 | 180 | 270): Pgm {
  const { width, height, pixels } = image;
  const out = new Uint8Array(pixels.length);
  if (degreesClockwise === 180) {
    for (let i = 0, j = pixels.length - 1; i < pixels.length; i++, j--) out[j] = pixels[i]!;
    return { width, height, pixels: out };
  }
  // Turned a quarter: the new image is height wide and width tall.
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = pixels[y * width + x]!;
      const [nx, ny] = degreesClockwise === 90 ? [height - 1 - y, x] : [y, width - 1 - x];
      out[ny * height + nx] = v;
    }
  }
  return { width: height, height: width, pixels: out };
}
