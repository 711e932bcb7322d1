import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { isNativeTesseractAvailable } from '../src/ocr/native-tesseract.js';
import { serveDirectory } from '../src/samples/static-server.js';
import { saveSite } from '../src/sites/repository.js';
import type { BenchOutcome, Log } from './run.js';
import { startBenchStack } from './support/bench-stack.js';
import { removeAtExit, runSite, withCleanup } from './support/corpus.js';
import { round } from './support/metrics.js';
import { cachedQualityCorpus, type PageType, type QualityPage } from './support/ocr-quality-corpus.js';
import { editDistance, normalizeForScoring, scoreText, type Accuracy } from './support/text-accuracy.js';

const SUBDOMAIN = 'ocr-quality.example';

/**
 * OCR quality. The corpus (bench/support/ocr-quality-corpus.ts) is scanned council pages with
 * ground truth: single-column minutes, multi-column pages, tables, pages scanned sideways and
 * upside down, and a blank separator sheet, each as its source image and as an image-only PDF.
 *
 * - Pipeline: the PDFs go through the whole pipeline (fetch, text layer, OCR activities) as a
 *   site; each page's stored text is scored.
 * - Baseline, in the same run: plain `tesseract <source image> stdout -l eng` (its defaults:
 *   page segmentation 3, the resolution from the image's own header) on the source images.
 *
 * Scores: CER and WER (edit distance over ground-truth length, after normalising typography and
 * whitespace; text-accuracy.ts), and whether a page lost its reading order (the in-order word
 * error far above the order-free one). Ratio = the pipeline's CER over all pages (total character
 * edits / total ground-truth characters) / the baseline's; target <= 1.0, and no page of the
 * pipeline may lose its reading order.
 */
export async function ocrQuality(options: { log: Log }): Promise<BenchOutcome> {
  const { log } = options;
  if (!(await isNativeTesseractAvailable())) throw new Error('the OCR quality benchmark needs native tesseract with English (tesseract-ocr, tesseract-ocr-eng)');
  const nproc = os.availableParallelism();
  const corpus = await cachedQualityCorpus(log);
  const textPages = corpus.pages.filter((p) => p.type !== 'blank');
  log(`ocr-quality: ${corpus.pages.length} pages (${textPages.length} with text)${corpus.cached ? ', cached corpus' : ''}, parallelism ${nproc}`);

  log('ocr-quality: baseline (plain tesseract on the source images)');
  const baselineTexts = await inLanes(textPages, nproc, (page) => plainTesseract(path.join(corpus.dir, page.sourceImage)));

  return withCleanup(async (defer) => {
    const stack = await startBenchStack({ CLERK_OCR_CONCURRENCY: String(nproc), CLERK_OCR_ENGINE: 'tesseract' });
    removeAtExit(stack.root);
    defer(() => stack.close());
    const server = await serveDirectory(corpus.dir);
    defer(() => server.close());
    await saveSite(stack.db, { subdomain: SUBDOMAIN, name: 'OCR quality corpus', fetcher: 'http-index', sourceUrl: `${server.url}/index.html` });

    log('ocr-quality: pipeline');
    const run = await runSite(stack, SUBDOMAIN);
    if (run.status.stage !== 'completed') throw new Error(`the pipeline run did not complete: ${JSON.stringify(run.status)}`);
    const rows = await stack.db
      .selectFrom('pages')
      .innerJoin('documents', 'documents.id', 'pages.document_id')
      .selectAll('pages')
      .select(['documents.meeting_date'])
      .where('pages.subdomain', '=', SUBDOMAIN)
      .execute();

    const perPage: PageScore[] = [];
    for (const page of corpus.pages) {
      const row = rows.find((r) => r.meeting_date === page.listing.date);
      if (!row) throw new Error(`the pipeline has no page for ${page.id} (${page.listing.date})`);
      if (row.status !== 'done' || !row.text_key) throw new Error(`page ${page.id} is ${row.status}: ${row.error ?? ''}`);
      const text = await stack.store.getText(row.text_key);
      // Columns added by later migrations are read loosely, so the benchmark also runs on older code.
      const extra = row as unknown as { blank?: boolean; ocr_confidence?: number | null; ocr_rotation?: number | null; ocr_dpi?: number | null };
      const baselineText = baselineTexts.get(page) ?? '';
      perPage.push({
        page,
        pipeline: scoreText(text, page.groundTruth),
        baseline: scoreText(baselineText, page.groundTruth),
        pipelineEdits: edits(text, page.groundTruth),
        baselineEdits: edits(baselineText, page.groundTruth),
        pipelineChars: text.length,
        blank: extra.blank ?? null,
        confidence: extra.ocr_confidence ?? null,
        rotation: extra.ocr_rotation ?? null,
        dpi: extra.ocr_dpi ?? null,
      });
    }

    const scored = perPage.filter((s) => s.page.type !== 'blank');
    const cer = (list: PageScore[], side: 'pipeline' | 'baseline') =>
      list.reduce((sum, s) => sum + (side === 'pipeline' ? s.pipelineEdits : s.baselineEdits), 0) / Math.max(1, list.reduce((sum, s) => sum + s.pipeline.groundTruthChars, 0));
    const pipelineCer = cer(scored, 'pipeline');
    const baselineCer = cer(scored, 'baseline');
    const ratio = baselineCer === 0 ? (pipelineCer === 0 ? 1 : Infinity) : pipelineCer / baselineCer;
    const orderLost = scored.filter((s) => s.pipeline.readingOrderLost).map((s) => s.page.id);
    const blankPage = perPage.find((s) => s.page.type === 'blank');
    const blankOk = !blankPage || (blankPage.pipelineChars === 0 && blankPage.blank !== false);

    const metrics: BenchOutcome['metrics'] = {
      pipelineCer: round(pipelineCer, 4),
      baselineCer: round(baselineCer, 4),
      pipelineCerUpright: round(cer(scored.filter((s) => s.page.type !== 'rotated'), 'pipeline'), 4),
      baselineCerUpright: round(cer(scored.filter((s) => s.page.type !== 'rotated'), 'baseline'), 4),
      pipelineOrderLost: orderLost.join(' ') || 'none',
      baselineOrderLost: scored.filter((s) => s.baseline.readingOrderLost).map((s) => s.page.id).join(' ') || 'none',
    };
    const types: PageType[] = ['single-column', 'multi-column', 'table', 'rotated'];
    for (const type of types) {
      const group = scored.filter((s) => s.page.type === type);
      metrics[`${type}.cer`] = `${round(cer(group, 'pipeline'), 4)} (tesseract ${round(cer(group, 'baseline'), 4)})`;
      metrics[`${type}.wer`] = `${round(mean(group.map((s) => s.pipeline.wer)), 4)} (tesseract ${round(mean(group.map((s) => s.baseline.wer)), 4)})`;
    }
    for (const s of perPage) {
      const facts = [
        `cer ${round(s.pipeline.cer, 4)} / ${round(s.baseline.cer, 4)}`,
        `wer ${round(s.pipeline.wer, 4)} / ${round(s.baseline.wer, 4)}`,
        s.pipeline.readingOrderLost ? 'ORDER LOST' : s.baseline.readingOrderLost ? 'order lost by tesseract only' : 'order kept',
        `dpi ${s.dpi ?? '-'}`,
        `rotation ${s.rotation ?? '-'}`,
        `confidence ${s.confidence === null ? '-' : round(s.confidence, 1)}`,
        ...(s.page.type === 'blank' ? [`blank ${s.blank}`, `${s.pipelineChars} chars`] : []),
      ];
      metrics[`page.${s.page.id}`] = facts.join(', ');
    }
    metrics.pipelineEndToEndSeconds = round(run.wallSeconds);

    return {
      benchmark: 'ocr-quality',
      sizes: { pages: corpus.pages.length, scoredPages: scored.length, groundTruthChars: scored.reduce((sum, s) => sum + s.pipeline.groundTruthChars, 0), parallelism: nproc },
      metrics,
      ratio: {
        value: round(ratio, 3),
        target: '<= 1.0',
        meets: ratio <= 1.0 && orderLost.length === 0,
        definition: "pipeline CER on the image-only PDFs / plain tesseract's CER on the source images (character edits over ground-truth characters, all pages with text); also: no pipeline page loses its reading order",
      },
      ok: blankOk,
      notes: [
        'per page: pipeline / plain tesseract; dpi, rotation and confidence are what the pipeline recorded for the page',
        'CER and WER after normalising typography (quotes, dashes, ligatures) and whitespace; reading order lost = WER exceeds the order-free word error by more than 0.15',
        blankOk ? 'the blank sheet was recorded blank, with no text' : 'FAILED: the blank sheet was not recorded blank',
      ],
    };
  });
}

interface PageScore {
  page: QualityPage;
  pipeline: Accuracy;
  baseline: Accuracy;
  pipelineEdits: number;
  baselineEdits: number;
  pipelineChars: number;
  blank: boolean | null;
  confidence: number | null;
  rotation: number | null;
  dpi: number | null;
}

function edits(text: string, groundTruth: string): number {
  return editDistance([...normalizeForScoring(text)], [...normalizeForScoring(groundTruth)]);
}

function mean(values: number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / Math.max(1, values.length);
}

async function inLanes<T, R>(items: T[], lanes: number, work: (item: T) => Promise<R>): Promise<Map<T, R>> {
  const results = new Map<T, R>();
  const queue = [...items];
  const lane = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) results.set(item, await work(item));
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  return results;
}

/** `tesseract <image> stdout -l eng` with one OpenMP thread: tesseract as a user would run it on the scan. */
export function plainTesseract(imagePath: string, extraArgs: string[] = []): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('tesseract', [imagePath, 'stdout', '-l', 'eng', ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OMP_THREAD_LIMIT: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`tesseract exited with ${code} on ${imagePath}: ${stderr.trim()}`))));
  });
}
