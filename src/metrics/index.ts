import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * clerk's own Prometheus metrics, one set per process. Metrics are process-wide by nature (a
 * scrape sees the process), so they live in one registry here rather than in ActivityDeps; an
 * in-process test worker counts into it too, and nothing serves it unless `--metrics-port` asks.
 */
export const registry = new Registry();

const pagesOcr = new Counter({
  name: 'clerk_pages_ocr_total',
  help: 'Pages the OCR activity finished, by engine and outcome (done, blank, failed).',
  labelNames: ['engine', 'outcome'] as const,
  registers: [registry],
});

const activitySeconds = new Histogram({
  name: 'clerk_activity_seconds',
  help: 'Seconds one activity attempt took, by activity type, its pipeline stage and outcome (succeeded, failed, cancelled).',
  labelNames: ['activity', 'stage', 'outcome'] as const,
  // From a bookkeeping write (milliseconds) to a large site's archive compile (tens of minutes).
  buckets: [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
  registers: [registry],
});

const documentsFetched = new Counter({
  name: 'clerk_documents_fetched_total',
  help: 'Documents downloaded (new or changed) by the fetch activity.',
  registers: [registry],
});

const downloadBytes = new Counter({
  name: 'clerk_download_bytes_total',
  help: 'Bytes of the documents downloaded by the fetch activity.',
  registers: [registry],
});

const extractionPages = new Counter({
  name: 'clerk_extraction_pages_total',
  help: 'Pages whose entities and votes were extracted; rate() of it is extraction pages per second.',
  registers: [registry],
});

let defaultMetricsOn = false;

/** Node's process metrics (CPU, memory, event-loop lag) as well, for a process that serves /metrics. */
export function collectProcessMetrics(): void {
  if (defaultMetricsOn) return;
  defaultMetricsOn = true;
  collectDefaultMetrics({ register: registry });
}

export type PageOcrOutcome = 'done' | 'blank' | 'failed';

export const metrics = {
  pageOcr(engine: string, outcome: PageOcrOutcome): void {
    pagesOcr.inc({ engine, outcome });
  },
  activity(activity: string, stage: string, outcome: 'succeeded' | 'failed' | 'cancelled', seconds: number): void {
    activitySeconds.observe({ activity, stage, outcome }, seconds);
  },
  documentFetched(bytes: number): void {
    documentsFetched.inc();
    downloadBytes.inc(bytes);
  },
  extractedPages(pages: number): void {
    extractionPages.inc(pages);
  },
};
