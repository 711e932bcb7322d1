import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveSite } from '../../src/sites/repository.js';
import { writeSampleSite, type SampleSiteManifest } from '../../src/samples/sample-site.js';
import { serveDirectory } from '../../src/samples/static-server.js';
import { enqueueAllSites } from '../../src/temporal/fleet-runs.js';
import { enqueueSite } from '../../src/temporal/site-runs.js';
import type { siteWorkflow } from '../../src/workflows/site.js';
import type { SiteStatus } from '../../src/workflows/types.js';
import { TaskBudget, type BurstEnd } from '../../src/workers/interceptors.js';
import { WorkerLogger } from '../../src/workers/logging.js';
import { createHarness, type Harness } from '../support/harness.js';

const clerkBin = fileURLToPath(new URL('../../bin/clerk.mjs', import.meta.url));
const SITE = 'alameda.ca';
/** More activity attempts than the sample site needs: this worker ends because its queue is empty. */
const MAX_TASKS = 10_000;

interface Exited {
  code: number | null;
  signal: NodeJS.Signals | null;
}

describe('clerk worker all --metrics-port 0 --log-format json --max-tasks, running the sample site', () => {
  let harness: Harness;
  let manifest: SampleSiteManifest;
  let server: { url: string; close(): Promise<void> };
  let worker: ChildProcess;
  let stdout = '';
  let stderr = '';
  let exited: Promise<Exited>;
  let exit: Exited;
  let metricsUrl: string;
  let scrape = '';
  let status: SiteStatus;

  beforeAll(async () => {
    harness = await createHarness('metrics');
    const siteDir = path.join(harness.dataDir, 'sample-site');
    manifest = await writeSampleSite(siteDir);
    server = await serveDirectory(siteDir);
    await saveSite(harness.db, { subdomain: SITE, name: 'Alameda (sample)', fetcher: 'http-index', sourceUrl: `${server.url}/index.html` });

    worker = spawn(process.execPath, [clerkBin, 'worker', 'all', '--metrics-port', '0', '--log-format', 'json', '--max-tasks', String(MAX_TASKS)], {
      env: { ...process.env, ...harness.env, CLERK_OCR_CONCURRENCY: '2' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    exited = new Promise((resolve) => worker.once('exit', (code, signal) => resolve({ code, signal })));
    await new Promise<void>((resolve, reject) => {
      worker.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('worker all polling')) resolve();
      });
      void exited.then((how) => reject(new Error(`worker exited before polling (${how.code ?? how.signal}): ${stdout.slice(-2000)}${stderr.slice(-2000)}`)));
    });
    metricsUrl = logLines().find((line) => typeof line.metricsUrl === 'string')!.metricsUrl as string;

    const run = await enqueueSite(harness.client, harness.config, SITE);
    const result = harness.client.workflow.getHandle<typeof siteWorkflow>(run.workflowId, run.runId).result();
    // Scrape while the run goes on: the worker leaves by itself once its queue is empty, so the last
    // scrape taken while it still served is the one the assertions read.
    let finished = false;
    void result.finally(() => (finished = true)).catch(() => {});
    while (!finished) {
      scrape = (await scrapeMetrics()) ?? scrape;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    scrape = (await scrapeMetrics()) ?? scrape;
    status = await result;
    exit = await exited;
  });

  afterAll(async () => {
    if (worker && worker.exitCode === null && worker.signalCode === null) {
      worker.kill('SIGTERM');
      await exited;
    }
    await server?.close();
    await harness?.close();
  });

  async function scrapeMetrics(): Promise<string | undefined> {
    try {
      const response = await fetch(metricsUrl);
      return response.ok ? await response.text() : undefined;
    } catch {
      return undefined;
    }
  }

  function logLines(): Record<string, unknown>[] {
    return stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  it('completes the run', () => {
    expect(status.stage).toBe('completed');
    expect(status.pages).toEqual({ total: manifest.totalPages, done: manifest.totalPages, failed: 0 });
  });

  it('serves clerk_pages_ocr_total for the engine that read the scanned pages', async () => {
    const engines = await harness.db.selectFrom('pages').select('ocr_engine').where('subdomain', '=', SITE).where('source', '=', 'ocr').execute();
    const engine = engines[0]!.ocr_engine!;
    expect(new Set(engines.map((p) => p.ocr_engine))).toEqual(new Set([engine]));
    expect(sample(scrape, 'clerk_pages_ocr_total', { engine, outcome: 'done' })).toBe(manifest.scannedPages);
    expect(sample(scrape, 'clerk_pages_ocr_total', { engine, outcome: 'failed' })).toBeUndefined();
  });

  it('serves the fetch, extraction and per-activity metrics', async () => {
    const documents = await harness.db.selectFrom('documents').select('byte_size').where('subdomain', '=', SITE).execute();
    expect(sample(scrape, 'clerk_documents_fetched_total')).toBe(manifest.documents.length);
    expect(sample(scrape, 'clerk_download_bytes_total')).toBe(documents.reduce((sum, d) => sum + Number(d.byte_size), 0));
    expect(sample(scrape, 'clerk_extraction_pages_total')).toBe(manifest.totalPages);
    expect(sample(scrape, 'clerk_activity_seconds_count', { activity: 'ocrPage', stage: 'ocr', outcome: 'succeeded' })).toBe(manifest.scannedPages);
    expect(sample(scrape, 'clerk_activity_seconds_count', { activity: 'fetchSite', stage: 'fetch', outcome: 'succeeded' })).toBe(1);
  });

  it('serves the Temporal SDK runtime metrics on the same endpoint', () => {
    expect(scrape).toMatch(/^temporal_worker_start\b/m);
    expect(scrape).toMatch(/^temporal_activity_execution_latency\w*\{.*activity_type="ocrPage"/m);
  });

  it('logs only JSON lines, and every activity line carries the site, stage, workflow and activity ids', async () => {
    const lines = logLines();
    const finishedLines = lines.filter((line) => line.msg === 'activity finished');
    const jobs = await harness.db.selectFrom('job_tracking').select(['workflow_id', 'activity_id', 'stage', 'job_type']).where('subdomain', '=', SITE).execute();
    expect(finishedLines).toHaveLength(jobs.length);
    for (const line of finishedLines) {
      expect(line).toMatchObject({ level: 'info', subdomain: SITE, stage: expect.any(String), workflowId: expect.any(String), activityId: expect.any(String) });
      expect(jobs).toContainEqual({ workflow_id: line.workflowId, activity_id: line.activityId, stage: line.stage, job_type: line.activityType });
    }
    // A line an activity logs itself, outside tracked(), carries them too.
    expect(lines.find((line) => line.msg === 'fetched site')).toMatchObject({ subdomain: SITE, stage: 'fetch', workflowId: `site/${SITE}`, activityId: expect.any(String), downloaded: manifest.documents.length });
  });

  it('exits 0 by itself once its queue is empty, after draining, having counted every activity attempt', async () => {
    expect(exit).toEqual({ code: 0, signal: null });
    const attempts = await harness.db.selectFrom('job_tracking').select('job_id').where('subdomain', '=', SITE).execute();
    const idle = logLines().find((line) => line.reason === 'idle');
    expect(idle).toMatchObject({ tasks: attempts.length });
    expect(logLines().at(-1)!.msg).toBe('worker all drained and stopped');
  });
});

describe('clerk worker workflows --max-tasks 1', () => {
  let harness: Harness;

  beforeAll(async () => {
    harness = await createHarness('burst');
  });

  afterAll(async () => {
    await harness?.close();
  });

  it('stops taking tasks after its first activity attempt ends, drains and exits 0 by itself', async () => {
    await saveSite(harness.db, { subdomain: 'burst.ca', name: 'Burst', fetcher: 'http-index', sourceUrl: 'http://127.0.0.1:9/index.html' });
    const child = spawn(process.execPath, [clerkBin, 'worker', 'workflows', '--max-tasks', '1', '--log-format', 'json'], {
      env: { ...process.env, ...harness.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<Exited>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    while (!stdout.includes('worker workflows polling')) {
      if (child.exitCode !== null) throw new Error(`worker exited before polling: ${stdout}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    // A fleet refresh: its first step (listing the sites) is an activity on the workflows queue.
    const run = await enqueueAllSites(harness.client, harness.config, { spreadMs: 0, maxSitesInFlight: 50, priority: 'low' });
    expect(await exited).toEqual({ code: 0, signal: null });
    // That activity is the one attempt the worker took; the refresh waits for another worker.
    const events = (await harness.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory()).events ?? [];
    const scheduled = events.flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name] : []));
    expect(scheduled[0]).toBe('listSitesOldestFirst');
    expect(events.filter((e) => e.activityTaskCompletedEventAttributes)).toHaveLength(1);
    const lines = stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.find((line) => line.reason === 'max-tasks')).toMatchObject({ tasks: 1 });
    await harness.client.workflow.getHandle(run.workflowId, run.runId).terminate('test over');
  });
});

describe('clerk worker flags', () => {
  it('refuses a --drain-timeout longer than the 55 s the systemd units leave, with exit code 2', async () => {
    const child = spawn(process.execPath, [clerkBin, 'worker', 'all', '--drain-timeout', '90s'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code).toBe(2);
    expect(stderr).toContain('at most 55s');
  });
});

describe('--max-tasks counting', () => {
  it('ends after the Nth activity attempt, failed ones included, and only once', async () => {
    const ends: BurstEnd[] = [];
    const budget = new TaskBudget(2, (end) => ends.push(end));
    const execute = (outcome: () => Promise<unknown>) => budget.interceptor({} as never).inbound!.execute!({ args: [], headers: {} }, outcome);
    await execute(async () => 'ok');
    expect(ends).toEqual([]);
    await expect(execute(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await execute(async () => 'ok');
    expect(ends).toEqual([{ reason: 'max-tasks', tasks: 2 }]);
  });
});

describe('the worker logger', () => {
  it('writes one parseable JSON object a line, with errors kept readable and the task token dropped', () => {
    const written: string[] = [];
    const logger = new WorkerLogger('json', 'INFO', (line) => written.push(line));
    logger.debug('not shown at INFO');
    logger.warn('Activity failed', { subdomain: SITE, workflowId: 'site/alameda.ca', activityId: '7', taskToken: 'AAAA', error: new Error('disk full') });
    expect(written).toHaveLength(1);
    expect(JSON.parse(written[0]!)).toMatchObject({ level: 'warn', msg: 'Activity failed', subdomain: SITE, workflowId: 'site/alameda.ca', activityId: '7', error: { message: 'disk full' } });
    expect(JSON.parse(written[0]!)).not.toHaveProperty('taskToken');
  });
});

/** The value of one sample in Prometheus text exposition, or undefined when it is not there. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => present[key] === value)) return Number(match[3]);
  }
  return undefined;
}
