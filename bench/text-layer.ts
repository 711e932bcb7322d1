import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { isPopplerAvailable } from '../src/pdf/poppler.js';
import { readTextLayer, type TextLayerReader } from '../src/pdf/text-layer.js';
import type { BenchOutcome, Log } from './run.js';
import { cachedCorpus } from './support/corpus.js';
import { round } from './support/metrics.js';

const TIMEOUT_MS = 10 * 60_000;

/**
 * Text-layer speed. The overhead benchmark's born-digital site (default 2,000 pages: 100 PDFs x
 * 20 pages), read by clerk's text-layer step (`readTextLayer`: every page's text, its usability,
 * and for pages that need OCR their size and scan resolution) against plain `pdftotext <pdf> -`,
 * both nproc documents at a time, as the OCR worker runs them. Order: untimed warm-up, baseline,
 * clerk, baseline; the mean baseline is used. Also timed once, as the figure before poppler: the
 * same step through pdf.js (`reader: 'pdfjs'`).
 * Ratio = clerk pages/s / pdftotext pages/s; target >= 0.8.
 */
export async function textLayer(options: { pages: number; log: Log }): Promise<BenchOutcome> {
  const { log } = options;
  if (!(await isPopplerAvailable())) throw new Error('the text-layer benchmark needs poppler-utils (pdftotext)');
  const nproc = os.availableParallelism();
  // The overhead benchmark's shape (overheadShape): 20 pages a document.
  const perDocument = Math.min(20, options.pages);
  const shape = { documents: Math.ceil(options.pages / perDocument), pagesPerDocument: perDocument };
  const corpus = await cachedCorpus('text', shape, log);
  const pdfs = corpus.documents.map((doc) => path.join(corpus.dir, doc.path));
  log(`text-layer: ${corpus.totalPages} pages in ${pdfs.length} PDFs, parallelism ${nproc}${corpus.cached ? ', cached corpus' : ''}`);

  // Warm-up: the files in the page cache, both programs loaded once per lane.
  await inLanes(pdfs.slice(0, nproc * 2), nproc, (pdf) => pdftotext(pdf));
  await inLanes(pdfs.slice(0, nproc * 2), nproc, (pdf) => clerkStep(pdf, 'poppler'));

  const baseline1 = await timed(() => inLanes(pdfs, nproc, (pdf) => pdftotext(pdf)));
  log(`text-layer: pdftotext ${baseline1.toFixed(2)} s; clerk`);
  let pages = 0;
  let ocrPages = 0;
  const clerk = await timed(() =>
    inLanes(pdfs, nproc, async (pdf) => {
      const layer = await clerkStep(pdf, 'poppler');
      pages += layer.pageCount;
      ocrPages += layer.pages.filter((p) => !p.usable).length;
    }),
  );
  log(`text-layer: clerk ${clerk.toFixed(2)} s; pdftotext again`);
  const baseline2 = await timed(() => inLanes(pdfs, nproc, (pdf) => pdftotext(pdf)));
  log(`text-layer: pdftotext ${baseline2.toFixed(2)} s; clerk through pdf.js (the figure before poppler)`);
  const pdfjs = await timed(() => inLanes(pdfs, nproc, (pdf) => clerkStep(pdf, 'pdfjs')));
  log(`text-layer: clerk through pdf.js ${pdfjs.toFixed(2)} s`);

  const baseline = (baseline1 + baseline2) / 2;
  const ratio = baseline / clerk;
  const ok = pages === corpus.totalPages && ocrPages === 0;
  return {
    benchmark: 'text-layer',
    sizes: { pages: corpus.totalPages, documents: pdfs.length, parallelism: nproc },
    metrics: {
      clerkSeconds: round(clerk),
      clerkPagesPerSecond: round(corpus.totalPages / clerk),
      pdftotextSeconds1: round(baseline1),
      pdftotextSeconds2: round(baseline2),
      pdftotextPagesPerSecond: round(corpus.totalPages / baseline),
      clerkPdfjsSeconds: round(pdfjs),
      clerkPdfjsPagesPerSecond: round(corpus.totalPages / pdfjs),
      popplerOverPdfjs: round(pdfjs / clerk, 1),
    },
    ratio: {
      value: round(ratio, 3),
      target: '>= 0.8',
      meets: ratio >= 0.8,
      definition: "clerk's text-layer step (readTextLayer with poppler) pages/s / plain pdftotext pages/s (mean of the runs before and after), nproc documents at a time",
    },
    ok,
    notes: [
      `clerk read ${pages} pages and judged ${ocrPages} of them unusable (expected: every page usable)`,
      'clerkPdfjs: the same step through pdf.js, as every document was read before poppler (diagnostic, timed once)',
    ],
  };
}

function clerkStep(pdf: string, reader: TextLayerReader) {
  return readTextLayer(pdf, { timeoutMs: TIMEOUT_MS, reader });
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return (performance.now() - started) / 1000;
}

async function inLanes<T>(items: T[], lanes: number, work: (item: T) => Promise<unknown>): Promise<void> {
  const queue = [...items];
  const lane = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
  };
  await Promise.all(Array.from({ length: lanes }, lane));
}

/** `pdftotext -enc UTF-8 <pdf> -`, its output read and dropped: poppler as a user would run it. */
function pdftotext(pdf: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('pdftotext', ['-enc', 'UTF-8', pdf, '-'], { stdio: ['ignore', 'pipe', 'ignore'] });
    child.stdout.setEncoding('utf8').on('data', () => {});
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`pdftotext exited with ${code} on ${pdf}`))));
  });
}
