/**
 * Child process: renders one page with pdf.js + @napi-rs/canvas and writes it as a binary PGM.
 * Run by render.ts with `<pdfPath> <page> <dpi> <maxPixels> <outPath>`.
 */
import fs from 'node:fs/promises';
import { permanentPdfError } from './errors.js';
import { answerParent } from './pdf-child.js';
import { encodePgm, openPdf, renderPageGray } from './pdfjs.js';
import { fitRenderDpi, pageTooLargeError } from './render-budget.js';

/** Answers the dpi it rendered at: the requested one, or lower for a page too big for it. */
async function renderPage(pdfPath: string, pageNumber: number, requestedDpi: number, maxPixels: number, outPath: string): Promise<number> {
  const doc = await openPdf(await fs.readFile(pdfPath));
  try {
    if (doc.numPages === 0) throw permanentPdfError('empty', pdfPath, 'the page tree is empty');
    if (!Number.isInteger(pageNumber) || pageNumber < 1 || pageNumber > doc.numPages) {
      throw new RangeError(`Page ${pageNumber} does not exist: ${pdfPath} has ${doc.numPages} pages.`);
    }
    const size = (await doc.getPage(pageNumber)).getViewport({ scale: 1 });
    const dpi = fitRenderDpi(size, requestedDpi, maxPixels);
    if (dpi === null) throw pageTooLargeError(pdfPath, pageNumber, size, requestedDpi, maxPixels);
    await fs.writeFile(outPath, encodePgm(await renderPageGray(doc, pageNumber, dpi)));
    return dpi;
  } finally {
    await doc.destroy();
  }
}

const [pdfPath, page, dpi, maxPixels, outPath] = process.argv.slice(2);
answerParent(() => renderPage(pdfPath!, Number(page), Number(dpi), Number(maxPixels), outPath!));
