/**
 * Child process: reads every page's text layer with pdf.js and sends it to the parent.
 * Run by text-layer.ts (compiled to plain JS) with `<pdfPath> [maxPages]`.
 */
import fs from 'node:fs/promises';
import { permanentPdfError } from './errors.js';
import { joinTextItems } from './join-text-items.js';
import { answerParent } from './pdf-child.js';
import { openPdf } from './pdfjs.js';

export interface RawTextLayer {
  pageCount: number;
  pages: { page: number; text: string }[];
}

async function readAllPages(pdfPath: string, maxPages: number | undefined): Promise<RawTextLayer> {
  const doc = await openPdf(await fs.readFile(pdfPath));
  try {
    const pageCount = doc.numPages;
    if (pageCount === 0) throw permanentPdfError('empty', pdfPath, 'the page tree is empty');
    if (maxPages !== undefined && pageCount > maxPages) {
      throw permanentPdfError('too-large', pdfPath, `${pageCount} pages, more than the limit of ${maxPages}`);
    }
    const pages: RawTextLayer['pages'] = [];
    for (let page = 1; page <= pageCount; page++) {
      pages.push({ page, text: await readPageText(doc, page) });
    }
    return { pageCount, pages };
  } finally {
    await doc.destroy();
  }
}

/**
 * One broken page must not sink the document: its text comes back empty, so it is sent to OCR,
 * where it either renders after all or fails on its own.
 */
async function readPageText(doc: Awaited<ReturnType<typeof openPdf>>, pageNumber: number): Promise<string> {
  try {
    const page = await doc.getPage(pageNumber);
    const content = await page.getTextContent();
    page.cleanup();
    return joinTextItems(content.items);
  } catch {
    return '';
  }
}

const [pdfPath, maxPagesArg] = process.argv.slice(2);
answerParent(() => readAllPages(pdfPath!, maxPagesArg ? Number(maxPagesArg) : undefined));
