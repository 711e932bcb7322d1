import type { Kysely } from 'kysely';

/**
 * What OCR learned about each page:
 * - scan_ppi: the page is one full-page raster image (a scan) of this resolution, found by the
 *   text-layer pass; OCR reads it at that resolution. Null for other pages.
 * - ocr_dpi: the resolution the page image OCR read was rendered at.
 * - ocr_confidence: tesseract's mean word confidence (0-100); low values flag pages worth a look.
 * - ocr_rotation: clockwise degrees the page was turned to read it upright (0 when it was upright;
 *   null when the engine cannot tell, as with tesseract.js).
 * - blank: the page has no ink and was recorded without running OCR.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('pages')
    .addColumn('scan_ppi', 'real')
    .addColumn('ocr_dpi', 'real')
    .addColumn('ocr_confidence', 'real')
    .addColumn('ocr_rotation', 'smallint')
    .addColumn('blank', 'boolean', (col) => col.notNull().defaultTo(false))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('pages').dropColumn('scan_ppi').dropColumn('ocr_dpi').dropColumn('ocr_confidence').dropColumn('ocr_rotation').dropColumn('blank').execute();
}
