import type { Harness } from './harness.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';

/**
 * In-process workers for every queue but OCR, and OCR as a real `clerk worker ocr` process: the
 * one a test kills, stops or breaks.
 */
export async function startWorkersWithOcrProcess(harness: Harness, ocrEnv: Record<string, string> = {}): Promise<WorkerProcess> {
  await harness.startWorkers(['workflows', 'fetch', 'extraction', 'deploy']);
  return startWorkerProcess('ocr', { ...harness.env, CLERK_OCR_CONCURRENCY: '2', ...ocrEnv });
}

/** The job ids of OCR page attempts running now. */
export async function runningOcrJobIds(harness: Harness): Promise<string[]> {
  const rows = await harness.db.selectFrom('job_tracking').select('job_id').where('job_type', '=', 'ocrPage').where('status', '=', 'running').execute();
  return rows.map((r) => r.job_id);
}

/** How many of the site's pages are done now. */
export async function donePageCount(harness: Harness, subdomain: string): Promise<number> {
  const row = await harness.db
    .selectFrom('pages')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('subdomain', '=', subdomain)
    .where('status', '=', 'done')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Polls `condition` every 50 ms for up to 2 minutes. */
export async function waitFor(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let polls = 0; polls < 2_400; polls++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what}: not reached in 2 minutes`);
}
