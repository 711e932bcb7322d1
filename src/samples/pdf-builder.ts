import { PDFDocument, StandardFonts } from 'pdf-lib';
import { encodePngFromGray, openPdf, renderPageGray } from '../pdf/pdfjs.js';

/** Letter size, in PDF points. */
const PAGE_WIDTH = 612;
const PAGE_HEIGHT = 792;
const MARGIN = 54;
const FONT_SIZE = 12;
const LINE_HEIGHT = 16;

/** A PDF whose pages carry a real text layer: one string per line, one array per page. */
export async function makeTextPdf(pages: string[][], title = 'Meeting'): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  pdf.setTitle(title);
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  for (const lines of pages) {
    const page = pdf.addPage([PAGE_WIDTH, PAGE_HEIGHT]);
    let y = PAGE_HEIGHT - MARGIN;
    for (const line of lines) {
      page.drawText(line, { x: MARGIN, y, size: FONT_SIZE, font });
      y -= LINE_HEIGHT;
    }
  }
  return pdf.save();
}

/**
 * A PDF of image-only pages, like a scanner makes: the text is rendered to pixels and the
 * text layer thrown away, so the only way to read it back is OCR.
 */
export async function makeScannedPdf(pages: string[][], title = 'Scanned meeting', dpi = 150): Promise<Uint8Array> {
  const source = await openPdf(await makeTextPdf(pages, title));
  const pdf = await PDFDocument.create();
  pdf.setTitle(title);
  for (let pageNumber = 1; pageNumber <= source.numPages; pageNumber++) {
    const image = await pdf.embedPng(encodePngFromGray(await renderPageGray(source, pageNumber, dpi)));
    pdf.addPage([PAGE_WIDTH, PAGE_HEIGHT]).drawImage(image, { x: 0, y: 0, width: PAGE_WIDTH, height: PAGE_HEIGHT });
  }
  await source.destroy();
  return pdf.save();
}
