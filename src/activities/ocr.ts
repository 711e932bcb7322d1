import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { pageTextKey, type DocumentIdentity } from '../archive/layout.js';
import type { DocumentRow } from '../db/schema.js';
import type { OcrEnginePool } from '../ocr/pool.js';
import { PermanentPdfError } from '../pdf/errors.js';
import { renderPageToPgm } from '../pdf/render.js';
import { readTextLayer } from '../pdf/text-layer.js';
import { completeOcrPage, getDocument, recordDocumentPages, type PageReading } from '../progress/documents.js';
import { findReusableOcrText } from '../progress/page-reuse.js';
import type { ActivityDeps } from './deps.js';
import { withHeartbeats } from './heartbeat.js';
import { tracked } from './tracking.js';

const TEXT_LAYER_TIMEOUT_MS = 10 * 60_000;
const RENDER_TIMEOUT_MS = 2 * 60_000;

export function createOcrActivities(deps: ActivityDeps & { ocrEngines: OcrEnginePool }) {
  const { db, store, config, ocrEngines } = deps;

  /**
   * Reads the text layer of every page of a document in one subprocess. Pages whose layer is
   * usable are done; pages whose text another copy of the same PDF already has are reused; the
   * rest are returned for OCR.
   */
  async function readDocumentTextLayer(input: { subdomain: string; documentId: string }): Promise<{ pageCount: number; pagesToOcr: number[] }> {
    const doc = await getDocument(db, input.documentId);
    const pdfPath = await store.localPath(doc.storage_key);
    const layer = await withHeartbeats(() => readTextLayer(pdfPath, { timeoutMs: TEXT_LAYER_TIMEOUT_MS })).catch(asActivityFailure);
    const identity = identityOf(doc);
    const reusable = await findReusableOcrText(db, doc.content_sha256, doc.id);
    const readings: PageReading[] = [];
    for (const { page, text, usable, size } of layer.pages) {
      const key = pageTextKey(identity, page);
      if (usable) {
        await store.put(key, text);
        readings.push({ page, size, text: { key, sha256: sha256(text), chars: text.length, source: 'text-layer' } });
        continue;
      }
      const known = reusable.get(page);
      if (known) {
        await store.put(key, await store.getText(known.textKey));
        readings.push({ page, size, text: { key, sha256: known.textSha256, chars: known.chars, source: 'ocr' } });
        continue;
      }
      readings.push({ page, size });
    }
    const pagesToOcr = await recordDocumentPages(db, doc, layer.pageCount, readings);
    return { pageCount: layer.pageCount, pagesToOcr };
  }

  /** Renders one page to grayscale and OCRs it, off this event loop. A page already done is skipped. */
  async function ocrPage(input: { subdomain: string; documentId: string; page: number }): Promise<{ chars: number; skipped: boolean }> {
    const doc = await getDocument(db, input.documentId);
    const existing = await db
      .selectFrom('pages')
      .select(['status', 'char_count', 'content_sha256', 'width_pt', 'height_pt'])
      .where('document_id', '=', doc.id)
      .where('page_number', '=', input.page)
      .executeTakeFirst();
    if (existing?.status === 'done' && existing.content_sha256 === doc.content_sha256) {
      return { chars: existing.char_count ?? 0, skipped: true };
    }
    const pdfPath = await store.localPath(doc.storage_key);
    const signal = Context.current().cancellationSignal;
    const pgmPath = path.join(os.tmpdir(), `clerk-${randomUUID()}.pgm`);
    try {
      const { text, engine } = await withHeartbeats(async () => {
        await renderPageToPgm(pdfPath, input.page, {
          dpi: config.ocr.dpi,
          timeoutMs: RENDER_TIMEOUT_MS,
          outPath: pgmPath,
          renderer: config.ocr.renderer,
          maxPixels: config.ocr.maxRenderPixels,
          ...(existing?.width_pt && existing.height_pt ? { pageSize: { width: existing.width_pt, height: existing.height_pt } } : {}),
        }).catch(
          asActivityFailure,
        );
        return ocrEngines.use(async (engine) => ({ text: await engine.recognize(pgmPath, { signal }), engine: engine.name }));
      });
      const key = pageTextKey(identityOf(doc), input.page);
      await store.put(key, text);
      await completeOcrPage(db, doc.subdomain, doc.id, input.page, { key, sha256: sha256(text), chars: text.length, engine });
      return { chars: text.length, skipped: false };
    } finally {
      await fs.rm(pgmPath, { force: true });
    }
  }

  return {
    readTextLayer: tracked(deps, 'ocr', readDocumentTextLayer),
    ocrPage: tracked(deps, 'ocr', ocrPage),
  };
}

function identityOf(doc: DocumentRow): DocumentIdentity {
  return { subdomain: doc.subdomain, kind: doc.kind, meetingSlug: doc.meeting_slug, date: doc.meeting_date, part: doc.part };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A PDF that is broken for good fails without retries, carrying its reason for the record. */
function asActivityFailure(error: unknown): never {
  if (error instanceof PermanentPdfError) {
    throw ApplicationFailure.create({ message: error.message, type: 'PermanentPdfError', nonRetryable: true, details: [{ reason: error.reason }] });
  }
  throw error;
}

export type OcrActivities = ReturnType<typeof createOcrActivities>;
