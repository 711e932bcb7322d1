import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { compileArchive, type ArchivePage } from '../src/archive/compile.js';
import { pageTextKey } from '../src/archive/layout.js';
import { extractPage, type PageExtraction } from '../src/extract/index.js';
import { ExtractionThreads } from '../src/extract/threads.js';
import { meetingSlug } from '../src/fetchers/meeting.js';
import { readTextLayer } from '../src/pdf/text-layer.js';
import { LocalFolderStore } from '../src/storage/local-folder-store.js';
import type { BenchOutcome, Log } from './run.js';
import { startBenchStack } from './support/bench-stack.js';
import { cachedCorpus, removeAtExit, runSite, serveCorpusSite, shapeOfPages, withCleanup, type Corpus, type CorpusShape } from './support/corpus.js';
import { pipelineStageMetrics, round } from './support/metrics.js';

const SUBDOMAIN = 'overhead-bench.example';
const TEXT_LAYER_TIMEOUT_MS = 10 * 60_000;

/** 20 pages a document (2,000 -> 100 x 20, 200 -> 10 x 20). */
export function overheadShape(pages: number): CorpusShape {
  return shapeOfPages(pages, 20);
}

/**
 * (b) Orchestration overhead. Pipeline: enqueue to the site workflow's result over a text-layer
 * site (fetch, text layer, extraction, both compiles, deploy). Baseline: the same domain functions
 * in a plain loop over the same PDFs, no Temporal or Postgres, with the pipeline's parallelism for
 * the subprocess part (nproc documents' text layers at once). Order: baseline, pipeline, baseline.
 */
export async function orchestrationOverhead(options: { pages: number; log: Log }): Promise<BenchOutcome> {
  const { log } = options;
  const nproc = os.availableParallelism();
  const shape = overheadShape(options.pages);
  const corpus = await cachedCorpus('text', shape, log);
  log(`overhead: ${corpus.totalPages} text-layer pages (${shape.documents} x ${shape.pagesPerDocument}), parallelism ${nproc}${corpus.cached ? ', cached corpus' : ''}`);

  return withCleanup(async (defer) => {
    const stack = await startBenchStack({ CLERK_OCR_CONCURRENCY: String(nproc) });
    removeAtExit(stack.root);
    defer(() => stack.close());
    const site = await serveCorpusSite(stack, corpus, SUBDOMAIN);
    defer(() => site.server.close());

    // Untimed warm-up shared by both sides: the text-layer child's bundle, compromise's lexicon.
    const first = await readTextLayer(path.join(corpus.dir, corpus.documents[0]!.path), { timeoutMs: TEXT_LAYER_TIMEOUT_MS });
    extractPage(first.pages[0]?.text ?? '');

    log('overhead: baseline 1 (plain loop)');
    const baseline1 = await plainLoop(corpus, nproc);
    log(`overhead: baseline 1 ${baseline1.total.toFixed(2)} s; pipeline`);
    const run = await runSite(stack, SUBDOMAIN);
    const { status } = run;
    if (status.stage !== 'completed' || status.deployed !== 'full' || status.pages.done !== corpus.totalPages || status.pages.total !== corpus.totalPages) {
      throw new Error(`the pipeline run did not complete cleanly: ${JSON.stringify({ stage: status.stage, deployed: status.deployed, pages: status.pages, error: status.error })}`);
    }
    log(`overhead: pipeline ${run.wallSeconds.toFixed(2)} s; baseline 2`);
    const baseline2 = await plainLoop(corpus, nproc);
    log(`overhead: baseline 2 ${baseline2.total.toFixed(2)} s`);
    if (baseline1.pages !== corpus.totalPages || baseline2.pages !== corpus.totalPages) throw new Error('the baseline read a different number of pages than the corpus has');

    const baselineSeconds = (baseline1.total + baseline2.total) / 2;
    const ratio = run.wallSeconds / baselineSeconds;
    const meanBaseline = (key: keyof BaselineTimes) => round((baseline1[key] + baseline2[key]) / 2);

    return {
      benchmark: 'orchestration-overhead',
      sizes: { pages: corpus.totalPages, documents: shape.documents, pagesPerDocument: shape.pagesPerDocument, parallelism: nproc },
      metrics: {
        pipelineSeconds: round(run.wallSeconds),
        baseline1Seconds: round(baseline1.total),
        baseline2Seconds: round(baseline2.total),
        ...(await pipelineStageMetrics(stack.db, SUBDOMAIN, run.wallSeconds)),
        'baseline.textLayer': meanBaseline('textLayer'),
        'baseline.extract': meanBaseline('extract'),
        'baseline.compileFast': meanBaseline('compileFast'),
        'baseline.compileFull': meanBaseline('compileFull'),
        'baseline.copy': meanBaseline('copy'),
      },
      ratio: {
        value: round(ratio, 3),
        target: '<= 1.25',
        meets: ratio <= 1.25,
        definition: 'pipeline wall time (enqueue -> result) / plain-loop wall time (mean of the baselines before and after)',
      },
      ok: true,
      notes: [
        'the pipeline also fetches the PDFs over HTTP (pipeline.fetchSite); the baseline reads them from the corpus folder',
        "pipeline.idleSeconds: wall time with no activity executing (workflow tasks, scheduling, polling)",
      ],
    };
  });
}

interface BaselineTimes {
  textLayer: number;
  extract: number;
  compileFast: number;
  compileFull: number;
  copy: number;
  total: number;
}

/**
 * The pipeline's work without the pipeline: read every PDF's text layer (nproc subprocesses at
 * once) and store the page texts, extract every page, compile the archive without and with
 * entities, and copy the result to a deploy folder.
 */
async function plainLoop(corpus: Corpus, parallelism: number): Promise<BaselineTimes & { pages: number }> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'clerk-bench-plain-'));
  const forget = removeAtExit(work);
  try {
    const store = new LocalFolderStore(path.join(work, 'storage'));
    const pages: (ArchivePage & PageExtraction)[] = [];
    const t0 = performance.now();

    const queue = [...corpus.documents];
    const lane = async () => {
      for (let doc = queue.shift(); doc; doc = queue.shift()) {
        const layer = await readTextLayer(path.join(corpus.dir, doc.path), { timeoutMs: TEXT_LAYER_TIMEOUT_MS });
        const identity = { subdomain: SUBDOMAIN, kind: doc.kind, meetingSlug: meetingSlug(doc.meeting), date: doc.date };
        for (const { page, text, usable } of layer.pages) {
          if (!usable) throw new Error(`page ${page} of ${doc.path} has no usable text layer`);
          await store.put(pageTextKey(identity, page), text);
          pages.push({ kind: doc.kind, meeting: doc.meeting, date: doc.date, page, text, entities: { persons: [], orgs: [], locations: [] }, votes: [] });
        }
      }
    };
    await Promise.all(Array.from({ length: parallelism }, lane));
    const t1 = performance.now();

    // Same parallelism as the extraction worker: its worker threads, one per core.
    const threads = new ExtractionThreads(parallelism);
    const extractions = await threads.extract(pages.map((page) => page.text));
    await threads.close();
    pages.forEach((page, i) => Object.assign(page, extractions[i]));
    const t2 = performance.now();

    const fastPath = path.join(work, 'meetings-fast.db');
    await compileArchive(fastPath, iterate(pages.map(({ entities: _e, votes: _v, ...page }) => page)));
    const t3 = performance.now();
    const fullPath = path.join(work, 'meetings.db');
    await compileArchive(fullPath, iterate(pages));
    const t4 = performance.now();

    await fs.mkdir(path.join(work, 'deploy', SUBDOMAIN), { recursive: true });
    await fs.copyFile(fullPath, path.join(work, 'deploy', SUBDOMAIN, 'meetings.db'));
    const t5 = performance.now();

    const s = (from: number, to: number) => (to - from) / 1000;
    return { textLayer: s(t0, t1), extract: s(t1, t2), compileFast: s(t2, t3), compileFull: s(t3, t4), copy: s(t4, t5), total: s(t0, t5), pages: pages.length };
  } finally {
    await fs.rm(work, { recursive: true, force: true });
    forget();
  }
}

async function* iterate<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

