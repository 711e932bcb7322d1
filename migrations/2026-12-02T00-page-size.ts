import type { Kysely } from 'kysely';

/**
 * Each page's size in PDF points, read with its text layer, so the OCR activity can fit the page
 * into the render budget without asking pdfinfo first. Null for pages read before this migration
 * or whose size pdf.js could not read: those still ask pdfinfo.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('pages').addColumn('width_pt', 'real').addColumn('height_pt', 'real').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('pages').dropColumn('width_pt').dropColumn('height_pt').execute();
}
