import type { Db } from '../db/connect.js';

export interface ReusableText {
  textKey: string;
  textSha256: string;
  chars: number;
}

/**
 * OCR'd pages of another document with the same PDF bytes (a document listed twice, or an
 * earlier run): their text is reused instead of running OCR again.
 */
export async function findReusableOcrText(db: Db, contentSha256: string, exceptDocumentId: string): Promise<Map<number, ReusableText>> {
  const rows = await db
    .selectFrom('pages')
    .select(['page_number', 'text_key', 'text_sha256', 'char_count'])
    .where('content_sha256', '=', contentSha256)
    .where('document_id', '!=', exceptDocumentId)
    .where('status', '=', 'done')
    .where('source', '=', 'ocr')
    .execute();
  const reusable = new Map<number, ReusableText>();
  for (const row of rows) {
    if (row.text_key && row.text_sha256) {
      reusable.set(row.page_number, { textKey: row.text_key, textSha256: row.text_sha256, chars: row.char_count ?? 0 });
    }
  }
  return reusable;
}
