import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { type ArchivePage, compileArchive, PAGE_TABLES } from '../src/archive/compile.js';
import { ExtractionThreads } from '../src/extract/threads.js';
import { meetingSlug } from '../src/fetchers/meeting.js';
import { tidy } from '../src/pdf/join-text-items.js';
import { startServer } from '../src/serve/index.js';
import type { BenchOutcome, Log } from './run.js';
import { scaleShape } from './scale.js';
import { type CorpusShape, corpusDocuments, removeAtExit, withCleanup } from './support/corpus.js';
import { percentiles, round, type Percentiles } from './support/metrics.js';

/** The scale benchmark's site: the database issue 15 asks the search latency of. */
const SITE = 'scale-bench.example';
/** A second, smaller site, so the cross-site search has two databases to search. */
const SECOND_SITE = 'second-bench.example';
const SECOND_SITE_PAGES = 2_000;

/** Bump when what is built changes (the page records, the page text), so stale caches are not reused. */
const SERVE_CACHE_VERSION = 2;

/** Each query of the mix this many times in each pass (about 500 requests a pass): sequential HTTP, concurrent HTTP, direct. */
const ROUNDS = 34;
const CONCURRENT_CLIENTS = 8;
const WARMUP_ROUNDS = 3;
/** What one page of results holds: the server's page size (PER_PAGE in src/serve), so the baseline ranks as many. */
const PAGE_SIZE = 20;

const compileSource = fileURLToPath(new URL('../src/archive/compile.ts', import.meta.url));

/**
 * (e) Search latency of `clerk serve`. Builds the scale site's meetings.db (by default 20,000
 * pages) from the scale corpus's own text, with entities and votes from clerk's extractor, plus a
 * second site for cross-site search; starts the server in this process; runs a fixed query mix
 * over its JSON API, sequentially and with 8 concurrent clients; and, as the baseline, runs the
 * same FTS5 queries directly on a read-only SQLite handle. Reports latency percentiles of each,
 * per query kind, and how much of a request's median time the search itself is.
 */
export async function serveLatency(options: { pages: number; log: Log }): Promise<BenchOutcome> {
  const { log } = options;
  const mainShape = scaleShape(options.pages);
  const secondShape = scaleShape(SECOND_SITE_PAGES);

  // Inside withCleanup from the start: Ctrl-C during a build exits through it, and the exit removes the half-built files.
  return withCleanup(async (defer) => {
    const main = await cachedSiteDatabase(SITE, mainShape, 0, log);
    // Documents after the main site's: later meetings and other seeds, so the two sites' texts differ.
    const second = await cachedSiteDatabase(SECOND_SITE, secondShape, mainShape.documents, log);
    const deployDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'clerk-bench-serve-deploy-'));
    const forget = removeAtExit(deployDir);
    defer(async () => {
      await fsp.rm(deployDir, { recursive: true, force: true });
      forget();
    });
    for (const site of [main, second]) await deploy(deployDir, site);

    const mix = queryMix(main);
    const direct = new DirectSearch(new Map([main, second].map((site) => [site.subdomain, site.dbPath])));
    defer(async () => direct.close());
    const expectedHits = new Map(mix.map((query) => [query.name, direct.count(query)]));

    const server = await startServer({ deployDir, host: '127.0.0.1', port: 0 });
    defer(() => server.close());
    const client = new HttpClient(server.url, CONCURRENT_CLIENTS);
    defer(async () => client.close());
    log(`serve: ${server.url}, ${mix.length} queries; warming up`);

    const answers = new Map<string, { status: number; hits: ServerHits; body: string }>();
    for (let warmup = 0; warmup < WARMUP_ROUNDS; warmup++) {
      for (const query of mix) {
        const response = await client.get(query.url);
        answers.set(query.name, { status: response.status, hits: hitCount(response.body), body: response.body });
        direct.search(query);
      }
    }

    const total = ROUNDS * mix.length;
    log(`serve: ${total} sequential requests`);
    const sequential = await timedRequests(mix, total, 1, (query) => client.get(query.url));
    log(`serve: ${total} requests from ${CONCURRENT_CLIENTS} concurrent clients`);
    const concurrent = await timedRequests(mix, total, CONCURRENT_CLIENTS, (query) => client.get(query.url));
    log(`serve: ${total} direct FTS5 queries (baseline)`);
    const baseline = await timedRequests(mix, total, 1, async (query) => {
      direct.search(query);
      return { status: 200, body: '' };
    });

    const problems: string[] = [];
    for (const query of mix) {
      const answer = answers.get(query.name)!;
      const expected = expectedHits.get(query.name)!;
      if (answer.status !== 200) problems.push(`${query.name}: HTTP ${answer.status} ${answer.body.slice(0, 200)}`);
      if (query.present && expected === 0) problems.push(`${query.name}: no page of the built database matches "${query.q}", though the corpus has it`);
      if (expected > 0 && answer.hits.count === 0) problems.push(`${query.name}: the server found nothing, the database has ${expected} matching pages`);
      if (answer.hits.isTotal && answer.hits.count !== expected) problems.push(`${query.name}: the server counts ${answer.hits.count} matching pages, the database ${expected}`);
    }
    for (const pass of [sequential, concurrent]) {
      for (const [status, count] of pass.statuses) if (status !== 200) problems.push(`${pass.name}: ${count} responses with HTTP ${status}`);
    }

    const overall = {
      http: percentiles(sequential.all),
      concurrent: percentiles(concurrent.all),
      direct: percentiles(baseline.all),
    };
    const ratio = overall.direct.p50 / overall.http.p50;
    const perQuery: Record<string, number | null> = {};
    for (const query of mix) {
      const http50 = percentiles(sequential.byQuery.get(query.name)!).p50;
      const direct50 = percentiles(baseline.byQuery.get(query.name)!).p50;
      perQuery[`query.${query.name}.httpP50Ms`] = round(http50, 3);
      perQuery[`query.${query.name}.directP50Ms`] = round(direct50, 3);
      perQuery[`query.${query.name}.matchingPages`] = expectedHits.get(query.name)!;
      perQuery[`query.${query.name}.serverHits`] = answers.get(query.name)!.hits.count;
    }

    return {
      benchmark: 'serve',
      sizes: { pages: main.pages, documents: mainShape.documents, secondSitePages: second.pages, queries: mix.length },
      metrics: {
        buildSeconds: main.builtSeconds === null ? 'cached' : round(main.builtSeconds, 1),
        secondSiteBuildSeconds: second.builtSeconds === null ? 'cached' : round(second.builtSeconds, 1),
        databaseMiB: round(fs.statSync(main.dbPath).size / 2 ** 20, 1),
        ...latencyMetrics('http', overall.http),
        httpRequestsPerSecond: round(sequential.requestsPerSecond, 0),
        ...latencyMetrics('httpConcurrent', overall.concurrent),
        httpConcurrentRequestsPerSecond: round(concurrent.requestsPerSecond, 0),
        ...latencyMetrics('direct', overall.direct),
        directQueriesPerSecond: round(baseline.requestsPerSecond, 0),
        ...perQuery,
      },
      ratio: {
        value: round(ratio, 3),
        target: '>= 0.5',
        meets: ratio >= 0.5,
        definition: `p50 of the direct FTS5 queries / p50 of the same searches through the HTTP API, sequential, over the whole mix (the share of a request's median time that is the search itself; 0.5: the server adds as much as the search costs)`,
      },
      ok: problems.length === 0,
      notes: [
        `query mix (${mix.length}, each run ${ROUNDS} times a pass, round-robin): ${mix.map((q) => `${q.name} ${q.url}`).join('; ')}`,
        `latency: one request, client and server in this process, keep-alive HTTP/1.1 on loopback, from sending to the last byte of the body`,
        `baseline: per table, SELECT rowid, bm25 FROM <table>_fts [JOIN <table> for a body or date filter] WHERE MATCH ? ORDER BY bm25 LIMIT ${PAGE_SIZE} x page, merged by bm25 across the tables (and both sites' for a search over all), on read-only better-sqlite3 handles: no count, no snippets, no JSON`,
        ...problems.map((p) => `PROBLEM: ${p}`),
      ],
    };
  });
}

// ---------------------------------------------------------------------------------------------
// The site databases

interface SiteDatabase {
  subdomain: string;
  dbPath: string;
  pages: number;
  /** The meeting bodies and the first and last meeting dates, for the filters of the query mix. */
  meetings: string[];
  firstDate: string;
  lastDate: string;
  /** Seconds the database took to build (extraction and compile); null when it came from the cache. */
  builtSeconds: number | null;
}

function cacheRoot(): string {
  return path.join(os.tmpdir(), 'clerk-bench-serve');
}

/**
 * The compiled meetings.db of a site, built into the cache folder the first time. Two levels: the
 * extracted pages (text, entities and votes; extraction is most of the build, minutes for 20,000
 * pages) keyed by the corpus shape and SERVE_CACHE_VERSION, and the database keyed besides by the
 * content of compile.ts, so a change of the archive's schema rebuilds it (in seconds) rather than
 * handing the server a database it cannot read.
 */
async function cachedSiteDatabase(subdomain: string, shape: CorpusShape, firstDocument: number, log: Log): Promise<SiteDatabase> {
  await fsp.mkdir(cacheRoot(), { recursive: true });
  const key = `${shape.documents}x${shape.pagesPerDocument}-from${firstDocument}-v${SERVE_CACHE_VERSION}`;
  const compileDigest = createHash('sha256').update(fs.readFileSync(compileSource)).digest('hex').slice(0, 12);
  const pagesPath = path.join(cacheRoot(), `pages-${key}.jsonl`);
  const dbPath = path.join(cacheRoot(), `${subdomain}-${key}-${compileDigest}.db`);
  const listings = [...corpusDocuments('text', shape, { firstDocument })].map((document) => document.listing);
  const site = {
    subdomain,
    dbPath,
    pages: shape.documents * shape.pagesPerDocument,
    meetings: [...new Set(listings.map((listing) => listing.meeting))],
    firstDate: listings.map((l) => l.date).reduce((a, b) => (a < b ? a : b)),
    lastDate: listings.map((l) => l.date).reduce((a, b) => (a > b ? a : b)),
  };
  if (fs.existsSync(dbPath)) return { ...site, builtSeconds: null };

  const started = performance.now();
  if (!fs.existsSync(pagesPath)) {
    log(`serve: extracting ${site.pages} pages of ${subdomain} (${shape.documents} x ${shape.pagesPerDocument}) into ${pagesPath}`);
    await buildAtomically(pagesPath, (building) => extractPages(building, subdomain, shape, firstDocument, log));
  }
  log(`serve: compiling ${dbPath}`);
  await buildAtomically(dbPath, (building) => compileArchive(building, readPages(pagesPath), { subdomain, siteName: `Benchmark site ${subdomain}`, variant: 'full' }));
  return { ...site, builtSeconds: (performance.now() - started) / 1000 };
}

/** Writes a sibling file and renames it into place, so an interrupted build never leaves a half file a later run would trust. */
async function buildAtomically(target: string, build: (building: string) => Promise<unknown>): Promise<void> {
  const building = `${target}.building-${process.pid}-${randomUUID().slice(0, 8)}`;
  const forget = removeAtExit(building);
  try {
    await build(building);
    await fsp.rename(building, target);
  } finally {
    await fsp.rm(building, { force: true });
    forget();
  }
}

/** Documents handed to the extraction threads at once: enough to keep every thread busy. */
const EXTRACTION_BATCH_DOCUMENTS = 16;

/**
 * The pages of the corpus as the pipeline would store them: the page text as pdftotext reads it,
 * entities and votes read per document on worker threads as
 * the extraction activity reads them. One JSON ArchivePage a line.
 */
async function extractPages(outPath: string, subdomain: string, shape: CorpusShape, firstDocument: number, log: Log): Promise<void> {
  const threads = new ExtractionThreads(os.availableParallelism());
  const out = fs.createWriteStream(outPath);
  try {
    let batch: { listing: { kind: 'minutes' | 'agenda'; meeting: string; date: string; path: string }; texts: string[] }[] = [];
    let done = 0;
    const flush = async () => {
      const results = await threads.extractDocuments(batch.map((d) => ({ pages: d.texts, pageNumbers: d.texts.map((_, i) => i + 1) })));
      for (const [i, document] of batch.entries()) {
        const { listing } = document;
        for (const [p, text] of document.texts.entries()) {
          const page: ArchivePage = {
            kind: listing.kind,
            meeting: listing.meeting,
            date: listing.date,
            page: p + 1,
            text,
            // As the fetch activity names documents (documentIdOf) and the index page links them.
            documentId: `${subdomain}:${listing.kind}:${meetingSlug(listing.meeting)}:${listing.date}`,
            sourceUrl: `https://${subdomain}/${listing.path}`,
            ocrConfidence: null,
            publishedAt: `${listing.date}T12:00:00.000Z`,
            entities: results[i]![p]!.entities,
            votes: results[i]![p]!.votes,
          };
          if (!out.write(JSON.stringify(page) + '\n')) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
        }
        done += document.texts.length;
      }
      log(`serve: extracted ${done}/${shape.documents * shape.pagesPerDocument} pages of ${subdomain}`);
      batch = [];
    };
    for (const { listing, pages } of corpusDocuments('text', shape, { firstDocument })) {
      batch.push({ listing, texts: pages.map(pageText) });
      if (batch.length >= EXTRACTION_BATCH_DOCUMENTS) await flush();
    }
    if (batch.length > 0) await flush();
  } finally {
    await threads.close();
    await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  }
}

/**
 * A drawn page's text as the pipeline stores it: pdftotext (without -layout) gives each drawn line
 * without its indent and no empty lines, and clerk tidies that. Checked equal, page for page, to
 * pdftotext over the corpus's PDFs.
 */
function pageText(lines: string[]): string {
  return tidy(
    lines
      .map((line) => line.trim())
      .filter(Boolean)
      .join('\n'),
  );
}

async function* readPages(pagesPath: string): AsyncGenerator<ArchivePage> {
  const lines = readline.createInterface({ input: fs.createReadStream(pagesPath), crlfDelay: Infinity });
  for await (const line of lines) if (line) yield JSON.parse(line) as ArchivePage;
}

/**
 * Publishes a cached database into the throwaway deploy folder as `<site>/meetings.db`: a hard
 * link (no copy of a database of hundreds of MB), or a copy where the two folders are on different
 * file systems.
 */
async function deploy(deployDir: string, site: SiteDatabase): Promise<void> {
  const target = path.join(deployDir, site.subdomain, 'meetings.db');
  await fsp.mkdir(path.dirname(target), { recursive: true });
  try {
    await fsp.link(site.dbPath, target);
  } catch {
    await fsp.copyFile(site.dbPath, target);
  }
}

// ---------------------------------------------------------------------------------------------
// The query mix

type Kind = 'minutes' | 'agenda';

interface Query {
  name: string;
  /** The search words, as a person types them in the search box. */
  q: string;
  /** The FTS5 MATCH expression the server runs for q (the baseline runs the same). */
  match: string;
  /** One site, or every site (the cross-site search). */
  site: string | null;
  body?: string;
  from?: string;
  to?: string;
  kind?: Kind;
  page?: number;
  url: string;
  /** The corpus writes these words on every few pages, so a search that finds nothing is wrong. */
  present: boolean;
}

/**
 * A fixed mix: the kinds of search a resident or reporter makes, over words the corpus generator
 * writes often, rarely, or never. Deterministic for a given site (its filters come from its own
 * bodies and dates).
 */
function queryMix(site: SiteDatabase): Query[] {
  // The middle of the site's date span, for the date-range filter.
  const first = Date.parse(site.firstDate);
  const span = Date.parse(site.lastDate) - first;
  const day = (fraction: number) => new Date(first + span * fraction).toISOString().slice(0, 10);
  const queries: Omit<Query, 'url' | 'match'>[] = [
    { name: 'common', q: 'contract', site: site.subdomain, present: true },
    { name: 'common2', q: 'recommendation approve', site: site.subdomain, present: true },
    { name: 'name', q: 'Okafor', site: site.subdomain, present: true },
    { name: 'fullName', q: 'Jennifer Ott', site: site.subdomain, present: true },
    { name: 'phrase', q: '"storm drain"', site: site.subdomain, present: true },
    { name: 'prefix', q: 'pedestr*', site: site.subdomain, present: true },
    { name: 'broadPrefix', q: 'park*', site: site.subdomain, present: true },
    { name: 'rare', q: '16123', site: site.subdomain, present: false },
    { name: 'absent', q: 'quetzal', site: site.subdomain, present: false },
    { name: 'body', q: 'contract', site: site.subdomain, body: site.meetings[1]!, present: true },
    { name: 'dateRange', q: 'contract', site: site.subdomain, from: day(1 / 3), to: day(2 / 3), present: true },
    { name: 'kind', q: 'resolution', site: site.subdomain, kind: 'agenda', present: true },
    { name: 'page2', q: 'contract', site: site.subdomain, page: 2, present: true },
    { name: 'allSites', q: 'contract', site: null, present: true },
    { name: 'allSitesName', q: 'Okafor', site: null, present: true },
  ];
  return queries.map((query) => ({ ...query, match: ftsMatch(query.q), url: searchUrl(query) }));
}

function searchUrl(query: Omit<Query, 'url' | 'match'>): string {
  const params = new URLSearchParams({ q: query.q });
  if (query.body) params.set('body', query.body);
  if (query.from) params.set('from', query.from);
  if (query.to) params.set('to', query.to);
  if (query.kind) params.set('kind', query.kind);
  if (query.page) params.set('page', String(query.page));
  return query.site === null ? `/api/search?${params}` : `/api/sites/${encodeURIComponent(query.site)}/search?${params}`;
}

/** The FTS5 expression for what was typed: the server passes FTS5 syntax (phrases, prefixes) through. */
function ftsMatch(q: string): string {
  return q;
}

// ---------------------------------------------------------------------------------------------
// The baseline: the same searches straight on SQLite

const TABLES: { kind: Kind; table: string }[] = [
  { kind: 'minutes', table: PAGE_TABLES.minutes },
  { kind: 'agenda', table: PAGE_TABLES.agenda },
];

/**
 * The least a search can do: per table, the matching rowids by bm25, with the filters as a join,
 * LIMIT one page (plus the pages before it, so the two tables' hits can be merged to the right
 * page). No snippet, no total, no JSON: what is left over in the HTTP figure is the server.
 */
class DirectSearch {
  private readonly handles = new Map<string, Database.Database>();
  private readonly statements = new Map<string, Database.Statement>();

  constructor(dbPaths: Map<string, string>) {
    for (const [site, dbPath] of dbPaths) this.handles.set(site, new Database(dbPath, { readonly: true, fileMustExist: true }));
  }

  search(query: Query): number {
    let hits: { rank: number }[] = [];
    const offset = ((query.page ?? 1) - 1) * PAGE_SIZE;
    for (const db of this.sites(query)) {
      for (const { kind, table } of TABLES) {
        if (query.kind && query.kind !== kind) continue;
        const { sql, params } = this.select(query, table, `ORDER BY rank LIMIT ${offset + PAGE_SIZE}`, (fts) => `${fts}.rowid, bm25(${fts}) AS rank`);
        hits = hits.concat(this.prepare(db, sql).all(...params) as { rank: number }[]);
      }
    }
    return hits.sort((a, b) => a.rank - b.rank).slice(offset, offset + PAGE_SIZE).length;
  }

  /** How many pages match in all (untimed): the expected size of the server's answer. */
  count(query: Query): number {
    let total = 0;
    for (const db of this.sites(query)) {
      for (const { kind, table } of TABLES) {
        if (query.kind && query.kind !== kind) continue;
        const { sql, params } = this.select(query, table, '', () => 'count(*) AS n');
        total += (this.prepare(db, sql).get(...params) as { n: number }).n;
      }
    }
    return total;
  }

  close(): void {
    for (const db of this.handles.values()) db.close();
  }

  private sites(query: Query): Database.Database[] {
    return query.site === null ? [...this.handles.values()] : [this.handles.get(query.site)!];
  }

  private select(query: Query, table: string, tail: string, columns: (fts: string) => string): { sql: string; params: string[] } {
    // FTS5's MATCH and bm25() take the table's own name, not an alias.
    const fts = `${table}_fts`;
    const where = [`${fts} MATCH ?`];
    const params = [query.match];
    if (query.body) (where.push('t.meeting = ?'), params.push(query.body));
    if (query.from) (where.push('t.date >= ?'), params.push(query.from));
    if (query.to) (where.push('t.date <= ?'), params.push(query.to));
    const join = where.length > 1 ? `JOIN ${table} t ON t.rowid = ${fts}.rowid` : '';
    return { sql: `SELECT ${columns(fts)} FROM ${fts} ${join} WHERE ${where.join(' AND ')} ${tail}`, params };
  }

  private prepare(db: Database.Database, sql: string): Database.Statement {
    const key = `${db.name}\n${sql}`;
    let statement = this.statements.get(key);
    if (!statement) this.statements.set(key, (statement = db.prepare(sql)));
    return statement;
  }
}

// ---------------------------------------------------------------------------------------------
// Timing

interface Response {
  status: number;
  body: string;
}

/** GET over keep-alive connections, the body read whole. */
class HttpClient {
  private readonly agent: http.Agent;

  constructor(
    private readonly base: string,
    connections: number,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  }

  get(url: string): Promise<Response> {
    return new Promise((resolve, reject) => {
      const request = http.get(new URL(url, this.base), { agent: this.agent }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      });
      request.on('error', reject);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

interface Pass {
  name: string;
  all: number[];
  byQuery: Map<string, number[]>;
  statuses: Map<number, number>;
  requestsPerSecond: number;
}

/**
 * `total` requests over the mix, round-robin, from `clients` clients that each send their next
 * request when their last one has answered. Each request's latency is taken with performance.now().
 */
async function timedRequests(mix: Query[], total: number, clients: number, send: (query: Query) => Promise<Response>): Promise<Pass> {
  const pass: Pass = { name: clients === 1 ? 'sequential' : `${clients} clients`, all: [], byQuery: new Map(mix.map((q) => [q.name, []])), statuses: new Map(), requestsPerSecond: 0 };
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < total) {
        const query = mix[next++ % mix.length]!;
        const t0 = performance.now();
        const response = await send(query);
        const ms = performance.now() - t0;
        pass.all.push(ms);
        pass.byQuery.get(query.name)!.push(ms);
        pass.statuses.set(response.status, (pass.statuses.get(response.status) ?? 0) + 1);
      }
    }),
  );
  pass.requestsPerSecond = total / ((performance.now() - started) / 1000);
  return pass;
}

function latencyMetrics(prefix: string, p: Percentiles): Record<string, number> {
  return { [`${prefix}P50Ms`]: round(p.p50, 3), [`${prefix}P90Ms`]: round(p.p90, 3), [`${prefix}P99Ms`]: round(p.p99, 3), [`${prefix}MaxMs`]: round(p.max, 3) };
}

interface ServerHits {
  /** The matching pages the server says there are, or the hits it returned; null when the answer says neither. */
  count: number | null;
  /** count is the server's total of matching pages (comparable with the database's), not the hits of one page. */
  isTotal: boolean;
}

/** How many pages the server's answer says match; the API's shape is read loosely, so a rename fails a check, not the run. */
function hitCount(body: string): ServerHits {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { count: null, isTotal: false };
  }
  if (typeof value !== 'object' || value === null) return { count: null, isTotal: false };
  const record = value as Record<string, unknown>;
  if (typeof record.total === 'number') return { count: record.total, isTotal: true };
  for (const key of ['hits', 'results']) if (Array.isArray(record[key])) return { count: (record[key] as unknown[]).length, isTotal: false };
  return { count: null, isTotal: false };
}
