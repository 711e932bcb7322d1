/**
 * Child process: reads every page's text layer with pdf.js and sends it to the parent.
 * Run by text-layer.ts (compiled to plain JS) with `<pdfPath> [maxPages]`.
 */
import fs from 'node:fs/promises';
import { permanentPdfError } from './errors.js';
import { joinTextItems } from './join-text-items.js';
import { answerParent } from './pdf-child.js';
import { openPdf } from './pdfjs.js';
import type { PageSizePoints } from './render-budget.js';

export interface RawTextLayer {
  pageCount: number;
  pages: { page: number; text: string; size?: PageSizePoints }[];
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
      pages.push({ page, ...(await readPage(doc, page)) });
    }
    return { pageCount, pages };
  } finally {
    await doc.destroy();
  }
}

/**
 * A page's text and size. One broken page must not sink the document: its text comes back empty,
 * so it is sent to OCR, where it either renders after all or fails on its own.
 */
async function readPage(doc: Awaited<ReturnType<typeof openPdf>>, pageNumber: number): Promise<{ text: string; size?: PageSizePoints }> {
  try {
    const page = await doc.getPage(pageNumber);
    const { width, height } = page.getViewport({ scale: 1 });
    const content = await page.getTextContent();
    page.cleanup();
    return { text: joinTextItems(content.items), size: { width, height } };
  } catch {
    return { text: '' };
  }
}

const [pdfPath, maxPagesArg] = process.argv.slice(2);
answerParent(() => readAllPages(pdfPath!, maxPagesArg ? Number(maxPagesArg) : undefined));
