import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectDatabase, type Db } from '../src/db/connect.js';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { completeOcrPage, getDocument, markOcrPageDone, recordDocumentPages, recordFetchedDocument, type PageText } from '../src/progress/documents.js';
import { changeSiteContentByRecount, checkSiteCounters, enterStage, startRun } from '../src/progress/site-progress.js';
import type { BenchOutcome, Log } from './run.js';
import { removeAtExit, withCleanup } from './support/corpus.js';
import { round } from './support/metrics.js';

const PAGES_PER_DOCUMENT = 1_000;
/** Rounds of each path, alternated (recount, delta, recount, delta...), so load on a shared machine falls on both. */
const ROUNDS = 3;
/** The delta path must complete pages at least this many times as fast as the recount it replaced. */
const RATIO_TARGET = 3;

type Path = 'recount' | 'delta';

/**
 * (g) site_progress counters under 8 concurrent writers. Two sites of `pages` pending pages each
 * (default 20,000) in a throwaway Postgres, in the OCR stage; `writers` concurrent writers complete
 * pages for `seconds` per round through the real progress functions: completeOcrPage, whose
 * counters move by delta in the page's transaction, against the same page write counted the way
 * clerk did before (the site row locked first, then the whole site recounted with a GROUP BY). The
 * ratio is delta completions per second over recount completions per second; the checks are that
 * both sites' counters equal a full recount at the end.
 */
export async function counters(options: { pages: number; writers?: number; seconds?: number; log: Log }): Promise<BenchOutcome> {
  const { log } = options;
  const writers = options.writers ?? 8;
  const seconds = options.seconds ?? 5;
  return withCleanup(async (defer) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'clerk-bench-counters-'));
    fs.chmodSync(root, 0o755);
    const forget = removeAtExit(root);
    defer(async () => {
      fs.rmSync(root, { recursive: true, force: true });
      forget();
    });
    const port = 53000 + Math.floor(Math.random() * 2000);
    const postgres = await startEmbeddedPostgres({ dataDir: path.join(root, 'postgres'), port });
    defer(() => postgres.stop());
    const db = connectDatabase(postgres.url, { maxConnections: writers + 2 });
    defer(() => db.destroy());
    await migrateToLatest(db);

    const sites: Record<Path, SiteUnderLoad> = {
      recount: await seedSite(db, 'recount.bench', options.pages, log),
      delta: await seedSite(db, 'delta.bench', options.pages, log),
    };
    const completions: Record<Path, number> = { recount: 0, delta: 0 };
    const elapsed: Record<Path, number> = { recount: 0, delta: 0 };
    for (let pass = 1; pass <= ROUNDS; pass++) {
      for (const which of ['recount', 'delta'] as const) {
        const result = await completePages(db, sites[which], which, writers, seconds);
        completions[which] += result.completions;
        elapsed[which] += result.seconds;
        log(`counters: round ${pass}, ${which}: ${result.completions} pages in ${round(result.seconds, 2)} s`);
      }
    }

    const problems: string[] = [];
    for (const which of ['recount', 'delta'] as const) {
      const check = await checkSiteCounters(db, sites[which].subdomain);
      if (!check.matches) problems.push(`${which}: counters ${JSON.stringify(check.stored)} differ from a full count ${JSON.stringify(check.counted)}`);
      if (check.counted.pages.done !== completions[which]) problems.push(`${which}: ${completions[which]} pages completed, ${check.counted.pages.done} done in the pages table`);
    }
    const perSecond = { recount: completions.recount / elapsed.recount, delta: completions.delta / elapsed.delta };
    const ratio = perSecond.delta / perSecond.recount;
    return {
      benchmark: 'counters',
      sizes: { pages: options.pages, writers, rounds: ROUNDS, secondsPerRound: seconds },
      metrics: {
        deltaCompletionsPerSecond: round(perSecond.delta, 1),
        recountCompletionsPerSecond: round(perSecond.recount, 1),
        deltaCompletions: completions.delta,
        recountCompletions: completions.recount,
        deltaMsPerCompletionPerWriter: round((elapsed.delta * 1000 * writers) / Math.max(completions.delta, 1), 2),
        recountMsPerCompletionPerWriter: round((elapsed.recount * 1000 * writers) / Math.max(completions.recount, 1), 2),
      },
      ratio: {
        value: round(ratio, 2),
        target: `>= ${RATIO_TARGET}`,
        meets: ratio >= RATIO_TARGET,
        definition: 'page completions per second for one site with counters by delta / the same with the site recounted under its row lock',
      },
      ok: problems.length === 0,
      notes: [
        'one site per path, each with every page pending at the start; completions come from a shared queue, each page completed once',
        'both paths commit every completion; with counters by delta the site row is held only for its one UPDATE and the commit',
        ...problems,
      ],
    };
  });
}

interface SiteUnderLoad {
  subdomain: string;
  /** Pages still pending, taken from the end by the writers. */
  pending: { documentId: string; page: number }[];
}

/** A registered site in the OCR stage with `pages` pending pages over documents of 1,000 pages. */
async function seedSite(db: Db, subdomain: string, pages: number, log: Log): Promise<SiteUnderLoad> {
  log(`counters: registering ${pages} pages for ${subdomain}`);
  await db.insertInto('sites').values({ subdomain, name: subdomain, fetcher: 'http-index', source_url: 'http://127.0.0.1/', settings: '{}', allowed_hosts: '[]' }).execute();
  await startRun(db, { subdomain, workflowId: `site/${subdomain}`, runId: 'bench' });
  const pending: SiteUnderLoad['pending'] = [];
  const documentIds: string[] = [];
  for (let d = 0; d * PAGES_PER_DOCUMENT < pages; d++) {
    const id = `${subdomain}/doc${d}`;
    await recordFetchedDocument(db, {
      id,
      subdomain,
      kind: 'minutes',
      meeting: 'City Council',
      meetingSlug: 'CityCouncil',
      date: new Date(Date.UTC(2020, 0, 1 + d)).toISOString().slice(0, 10),
      sourceUrl: `http://127.0.0.1/doc${d}.pdf`,
      storageKey: `${subdomain}/doc${d}.pdf`,
      contentSha256: 'a'.repeat(64),
      byteSize: 1_000_000,
    });
    documentIds.push(id);
  }
  await enterStage(db, subdomain, 'ocr');
  for (const [d, id] of documentIds.entries()) {
    const count = Math.min(PAGES_PER_DOCUMENT, pages - d * PAGES_PER_DOCUMENT);
    await recordDocumentPages(db, await getDocument(db, id), count, Array.from({ length: count }, (_, i) => ({ page: i + 1 })));
    for (let page = 1; page <= count; page++) pending.push({ documentId: id, page });
  }
  // Writers take pages in a shuffled order, as OCR finishing across a site's documents would.
  for (let i = pending.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [pending[i], pending[j]] = [pending[j]!, pending[i]!];
  }
  return { subdomain, pending };
}

const text: PageText = { key: 'text/page.txt', sha256: 'b'.repeat(64), chars: 2_000, engine: 'tesseract', ocr: { dpi: 300, confidence: 91 } };

async function completePages(db: Db, site: SiteUnderLoad, which: Path, writers: number, seconds: number): Promise<{ completions: number; seconds: number }> {
  const complete =
    which === 'delta'
      ? (documentId: string, page: number) => completeOcrPage(db, site.subdomain, documentId, page, text)
      : (documentId: string, page: number) => changeSiteContentByRecount(db, site.subdomain, (trx) => markOcrPageDone(trx, documentId, page, text));
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let completions = 0;
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (performance.now() < deadline) {
        const next = site.pending.pop();
        if (!next) return;
        await complete(next.documentId, next.page);
        completions++;
      }
    }),
  );
  return { completions, seconds: (performance.now() - started) / 1000 };
}
