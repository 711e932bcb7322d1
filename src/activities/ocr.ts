import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { pageTextKey, type DocumentIdentity } from '../archive/layout.js';
import { metrics } from '../metrics/index.js';
import type { DocumentRow } from '../db/schema.js';
import type { OcrResult } from '../ocr/engine.js';
import { OcrLanguageUnavailableError, parseOcrLanguages } from '../ocr/languages.js';
import { isBlankPage, readPgm } from '../ocr/page-image.js';
import type { OcrEnginePool } from '../ocr/pool.js';
import { planPageImage } from '../ocr/resolution.js';
import { PermanentPdfError } from '../pdf/errors.js';
import { renderPageToPgm } from '../pdf/render.js';
import { extractScanToPgm } from '../pdf/scan-image.js';
import { readTextLayer } from '../pdf/text-layer.js';
import { completeOcrPage, finishDocument, getDocument, recordDocumentPages, type DocumentOutcome, type PageReading } from '../progress/documents.js';
import { findReusableOcrText } from '../progress/page-reuse.js';
import type { ActivityDeps } from './deps.js';
import { withHeartbeats } from './heartbeat.js';
import { tracked } from './tracking.js';

const TEXT_LAYER_TIMEOUT_MS = 10 * 60_000;
const RENDER_TIMEOUT_MS = 2 * 60_000;
const LANGUAGES_TTL_MS = 30_000;

export function createOcrActivities(deps: ActivityDeps & { ocrEngines: OcrEnginePool }) {
  const { db, store, config, ocrEngines } = deps;

  /**
   * Reads the text layer of every page of a document in one subprocess. Pages whose layer is
   * usable are done; pages whose text another copy of the same PDF already has are reused; the
   * rest are returned for OCR. With `settleWhenRead` (site runs that read their documents
   * themselves), a document the text layer settled whole is finished here too and its outcome
   * returned: the run then has nothing left to do for it, not even a step of its own.
   */
  async function readDocumentTextLayer(input: {
    subdomain: string;
    documentId: string;
    settleWhenRead?: boolean;
  }): Promise<{ pageCount: number; pagesToOcr: number[]; outcome?: DocumentOutcome }> {
    const doc = await getDocument(db, input.documentId);
    const pdfPath = await store.localPath(doc.storage_key);
    const layer = await withHeartbeats(() => readTextLayer(pdfPath, { timeoutMs: TEXT_LAYER_TIMEOUT_MS })).catch(asActivityFailure);
    const identity = identityOf(doc);
    const reusable = await findReusableOcrText(db, doc.content_sha256, doc.id);
    const readings: PageReading[] = [];
    for (const { page, text, usable, size, scan } of layer.pages) {
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
      readings.push({ page, size, ...(scan ? { scanPpi: scan.ppi } : {}) });
    }
    const pagesToOcr = await recordDocumentPages(db, doc, layer.pageCount, readings);
    if (input.settleWhenRead && pagesToOcr.length === 0) {
      return { pageCount: layer.pageCount, pagesToOcr, outcome: await finishDocument(db, input.subdomain, input.documentId) };
    }
    return { pageCount: layer.pageCount, pagesToOcr };
  }

  /**
   * Gets one page's image in grayscale and OCRs it, off this event loop. A page that is one
   * full-page scan (found by the text-layer pass) is OCRed from the scanned image itself, at its
   * own resolution; other pages are rendered at the configured dpi (planPageImage). A page with no
   * ink is recorded as blank without OCR. The site's `ocr_languages` setting picks the languages.
   * A page already done is skipped.
   */
  async function ocrPage(input: { subdomain: string; documentId: string; page: number }): Promise<{ chars: number; skipped: boolean }> {
    const doc = await getDocument(db, input.documentId);
    const existing = await db
      .selectFrom('pages')
      .select(['status', 'char_count', 'content_sha256', 'width_pt', 'height_pt', 'scan_ppi'])
      .where('document_id', '=', doc.id)
      .where('page_number', '=', input.page)
      .executeTakeFirst();
    if (existing?.status === 'done' && existing.content_sha256 === doc.content_sha256) {
      return { chars: existing.char_count ?? 0, skipped: true };
    }
    const languages = await siteOcrLanguages(doc.subdomain);
    const pdfPath = await store.localPath(doc.storage_key);
    const signal = Context.current().cancellationSignal;
    const pgmPath = path.join(os.tmpdir(), `clerk-${randomUUID()}.pgm`);
    const pageSize = existing?.width_pt && existing.height_pt ? { width: existing.width_pt, height: existing.height_pt } : undefined;
    const plan = planPageImage(
      { scanPpi: existing?.scan_ppi, size: pageSize },
      // An explicitly chosen renderer renders every page; 'auto' takes scans out as they are.
      { defaultDpi: config.ocr.dpi, maxScanDpi: config.ocr.maxScanDpi, maxPixels: config.ocr.maxRenderPixels, extractScans: config.ocr.renderer === 'auto' },
    );
    // Which engine read the page, for clerk_pages_ocr_total; none for a blank page or a render failure.
    let engineName = 'none';
    try {
      const reading = await withHeartbeats(async (): Promise<PageReadingOutcome> => {
        // A scan taken out comes back in memory as well, so only a rendered page is read back for the blank check.
        const extracted = plan.source === 'scan' ? await extractScanToPgm(pdfPath, input.page, { timeoutMs: RENDER_TIMEOUT_MS, outPath: pgmPath }).catch(asActivityFailure) : undefined;
        const { dpi } = extracted
          ? { dpi: plan.dpi }
          : await renderPageToPgm(pdfPath, input.page, {
              dpi: plan.dpi,
              timeoutMs: RENDER_TIMEOUT_MS,
              outPath: pgmPath,
              renderer: config.ocr.renderer,
              maxPixels: config.ocr.maxRenderPixels,
              ...(pageSize ? { pageSize } : {}),
            }).catch(asActivityFailure);
        if (isBlankPage(extracted ?? (await readPgm(pgmPath)))) return { dpi, blank: true };
        const result = await ocrEngines
          .use(async (engine) => {
            engineName = engine.name;
            return { ...(await engine.recognize(pgmPath, { signal, dpi, languages })), engine: engine.name };
          })
          .catch(asActivityFailure);
        return { dpi, blank: false, result };
      });
      // A cancelled page writes nothing and stays pending: the render step does not watch the
      // signal, so a reading may still come back after the cancellation arrived.
      signal.throwIfAborted();
      const text = reading.blank ? '' : reading.result.text;
      const key = pageTextKey(identityOf(doc), input.page);
      await store.put(key, text);
      await completeOcrPage(db, doc.subdomain, doc.id, input.page, {
        key,
        sha256: sha256(text),
        chars: text.length,
        engine: reading.blank ? null : reading.result.engine,
        ocr: reading.blank
          ? { dpi: reading.dpi, blank: true }
          : { dpi: reading.dpi, confidence: reading.result.confidence, rotation: reading.result.rotation, blank: false },
      });
      metrics.pageOcr(engineName, reading.blank ? 'blank' : 'done');
      return { chars: text.length, skipped: false };
    } catch (error) {
      // A cancelled page did not fail.
      if (!signal.aborted) metrics.pageOcr(engineName, 'failed');
      throw error;
    } finally {
      await fs.rm(pgmPath, { force: true });
    }
  }

  /** Recently read `ocr_languages` settings, so a site's pages do not each ask Postgres. */
  const languagesRead = new Map<string, { setting: string | undefined; readAt: number }>();

  /** The site's OCR languages (`ocr_languages`, e.g. eng+spa); English when unset. A change is seen within LANGUAGES_TTL_MS. */
  async function siteOcrLanguages(subdomain: string): Promise<string[]> {
    let known = languagesRead.get(subdomain);
    if (!known || Date.now() - known.readAt > LANGUAGES_TTL_MS) {
      const site = await db.selectFrom('sites').select('settings').where('subdomain', '=', subdomain).executeTakeFirst();
      known = { setting: site?.settings?.ocr_languages, readAt: Date.now() };
      languagesRead.set(subdomain, known);
    }
    try {
      return parseOcrLanguages(known.setting);
    } catch (error) {
      throw ApplicationFailure.create({ message: `The site's ocr_languages setting is not valid: ${(error as Error).message}`, type: 'OcrLanguageUnavailable', nonRetryable: true, details: [{ reason: 'ocr-language-unavailable' }] });
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

type PageReadingOutcome = { dpi: number; blank: true } | { dpi: number; blank: false; result: OcrResult & { engine: string } };

/**
 * A PDF that is broken for good fails without retries, carrying its reason for the record; so
 * does a page whose site asks for an OCR language that is not installed (retrying cannot help).
 */
function asActivityFailure(error: unknown): never {
  if (error instanceof PermanentPdfError) {
    throw ApplicationFailure.create({ message: error.message, type: 'PermanentPdfError', nonRetryable: true, details: [{ reason: error.reason }] });
  }
  if (error instanceof OcrLanguageUnavailableError) {
    throw ApplicationFailure.create({ message: error.message, type: 'OcrLanguageUnavailable', nonRetryable: true, details: [{ reason: 'ocr-language-unavailable' }] });
  }
  throw error;
}

export type OcrActivities = ReturnType<typeof createOcrActivities>;
