import fs from 'node:fs/promises';
import { permanentPdfError } from './errors.js';

/** The PDF spec lets a few junk bytes precede the header, and real files do have them. */
const HEADER_SEARCH_BYTES = 1024;

/**
 * Rejects 0-byte files and files that are not PDFs at all before any parser sees them: the
 * parsers report both as generic structure errors, which would misfile them as 'corrupt'.
 */
export async function assertLooksLikePdf(pdfPath: string): Promise<void> {
  const file = await fs.open(pdfPath, 'r');
  try {
    const { size } = await file.stat();
    if (size === 0) throw permanentPdfError('empty', pdfPath, 'the file is 0 bytes');
    const head = Buffer.alloc(Math.min(size, HEADER_SEARCH_BYTES));
    await file.read(head, 0, head.length, 0);
    if (head.includes('%PDF-', 0, 'latin1')) return;
    throw permanentPdfError('not-pdf', pdfPath, describeContent(head));
  } finally {
    await file.close();
  }
}

function describeContent(head: Buffer): string {
  const start = head.toString('latin1', 0, 200).trimStart().toLowerCase();
  if (start.startsWith('<!doctype html') || start.startsWith('<html') || start.includes('<head')) return 'it looks like an HTML page';
  if (start.startsWith('<?xml') || start.startsWith('<')) return 'it looks like XML or HTML';
  if (start.startsWith('{') || start.startsWith('[')) return 'it looks like JSON';
  if (head[0] === 0x50 && head[1] === 0x4b) return 'it looks like a ZIP archive, perhaps a Word or Excel file';
  return 'it does not start with a %PDF- header';
}
