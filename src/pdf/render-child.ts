/**
 * Child process: renders one page with pdf.js + @napi-rs/canvas and writes it as a binary PGM.
 * Run by render.ts as `node --import tsx render-child.ts <pdfPath> <page> <dpi> <outPath>`.
 */
import fs from 'node:fs/promises';
import { permanentPdfError } from './errors.js';
import { answerParent } from './pdf-child.js';
import { encodePgm, openPdf, renderPageGray } from './pdfjs.js';

/**
 * A canvas of this many pixels needs about 4 bytes each: 150 million is 600 MB. A 36 x 48 inch
 * plan sheet at 200 dpi is 69 million; anything past the limit is a broken MediaBox or absurd dpi.
 */
const MAX_PIXELS = 150_000_000;

async function renderPage(pdfPath: string, pageNumber: number, dpi: number, outPath: string): Promise<null> {
  const doc = await openPdf(await fs.readFile(pdfPath));
  try {
    if (doc.numPages === 0) throw permanentPdfError('empty', pdfPath, 'the page tree is empty');
    if (!Number.isInteger(pageNumber) || pageNumber < 1 || pageNumber > doc.numPages) {
      throw new RangeError(`Page ${pageNumber} does not exist: ${pdfPath} has ${doc.numPages} pages.`);
    }
    const { width, height } = (await doc.getPage(pageNumber)).getViewport({ scale: dpi / 72 });
    if (width * height > MAX_PIXELS) {
      throw permanentPdfError('too-large', pdfPath, `page ${pageNumber} would be ${Math.ceil(width)} x ${Math.ceil(height)} pixels at ${dpi} dpi`);
    }
    await fs.writeFile(outPath, encodePgm(await renderPageGray(doc, pageNumber, dpi)));
    return null;
  } finally {
    await doc.destroy();
  }
}

const [pdfPath, page, dpi, outPath] = process.argv.slice(2);
answerParent(() => renderPage(pdfPath!, Number(page), Number(dpi), outPath!));
