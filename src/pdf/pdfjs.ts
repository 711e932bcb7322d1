import { createRequire } from 'node:module';
import path from 'node:path';
import { createCanvas, type Canvas } from '@napi-rs/canvas';
import { getDocument, type PDFDocumentProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';

const require = createRequire(import.meta.url);
const pdfjsRoot = path.dirname(require.resolve('pdfjs-dist/package.json'));

/** pdf.js needs its font, cmap and wasm assets as local folders (trailing slash), or scans render blank. */
const assetOptions = {
  standardFontDataUrl: path.join(pdfjsRoot, 'standard_fonts') + '/',
  cMapUrl: path.join(pdfjsRoot, 'cmaps') + '/',
  cMapPacked: true,
  wasmUrl: path.join(pdfjsRoot, 'wasm') + '/',
  iccUrl: path.join(pdfjsRoot, 'iccs') + '/',
};

export async function openPdf(data: Uint8Array): Promise<PDFDocumentProxy> {
  // pdf.js takes ownership of (and detaches) the buffer it is given: hand it a copy.
  return getDocument({ ...assetOptions, data: new Uint8Array(data), isEvalSupported: false, verbosity: 0 }).promise;
}

export interface GrayImage {
  width: number;
  height: number;
  /** One byte per pixel, rows top to bottom. */
  pixels: Uint8Array;
}

export async function renderPageGray(doc: PDFDocumentProxy, pageNumber: number, dpi: number): Promise<GrayImage> {
  const page = await doc.getPage(pageNumber);
  const viewport = page.getViewport({ scale: dpi / 72 });
  const width = Math.ceil(viewport.width);
  const height = Math.ceil(viewport.height);
  const canvas = createCanvas(width, height);
  const context = canvas.getContext('2d');
  context.fillStyle = '#ffffff';
  context.fillRect(0, 0, width, height);
  // pdf.js types expect a DOM canvas; @napi-rs/canvas implements the parts it uses.
  await page.render({ canvas: canvas as never, canvasContext: context as never, viewport }).promise;
  const rgba = context.getImageData(0, 0, width, height).data;
  const pixels = new Uint8Array(width * height);
  for (let i = 0, j = 0; j < pixels.length; i += 4, j++) {
    pixels[j] = Math.round(0.299 * rgba[i]! + 0.587 * rgba[i + 1]! + 0.114 * rgba[i + 2]!);
  }
  page.cleanup();
  return { width, height, pixels };
}

/** Binary PGM (P5): the uncompressed grayscale format both tesseract and tesseract.js read. */
export function encodePgm(image: GrayImage): Buffer {
  const header = Buffer.from(`P5\n${image.width} ${image.height}\n255\n`, 'ascii');
  return Buffer.concat([header, image.pixels]);
}

export function encodePngFromGray(image: GrayImage): Buffer {
  return grayCanvas(image).toBuffer('image/png');
}

/** A canvas holding a grayscale image, to draw on or encode. */
export function grayCanvas(image: GrayImage): Canvas {
  const canvas = createCanvas(image.width, image.height);
  const context = canvas.getContext('2d');
  const data = context.createImageData(image.width, image.height);
  for (let j = 0, i = 0; j < image.pixels.length; j++, i += 4) {
    const v = image.pixels[j]!;
    data.data[i] = v;
    data.data[i + 1] = v;
    data.data[i + 2] = v;
    data.data[i + 3] = 255;
  }
  context.putImageData(data, 0, 0);
  return canvas;
}
