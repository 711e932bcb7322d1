import { randomUUID } from 'node:crypto';
import { rmSync as fs_rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import type { Db } from '../../src/db/connect.js';
import { makeScannedPdf, makeTextPdf } from '../../src/samples/pdf-builder.js';
import { documentPath, renderIndexPage, type IndexListing, type SampleDocumentKind } from '../../src/samples/sample-site.js';
import { serveDirectory, type StaticServer } from '../../src/samples/static-server.js';
import { saveSite } from '../../src/sites/repository.js';
import { enqueueSite } from '../../src/temporal/site-runs.js';
import type { siteWorkflow } from '../../src/workflows/site.js';
import type { FanOutLimits, SiteStatus } from '../../src/workflows/types.js';
import type { BenchStack } from './bench-stack.js';

/**
 * Synthetic sites for the benchmarks: an index page (the sample site's format, so the real
 * http-index fetcher reads it) listing PDFs of fictional council meetings. Text-layer documents
 * carry realistic minutes and agendas (titled members, motions, roll calls, tallies, staff,
 * speakers, organisations, streets, money) so entity and vote extraction do real work; scanned
 * documents are the same kind of text rendered to image-only pages. The text is deterministic
 * (seeded); the PDF bytes are not (pdf-lib stamps the time), which is why corpora are cached.
 */

export type CorpusKind = 'text' | 'scanned';

export interface CorpusShape {
  documents: number;
  pagesPerDocument: number;
}

/** `pages` pages in documents of `pagesPerDocument` (fewer when there are fewer pages), the last one full size. */
export function shapeOfPages(pages: number, pagesPerDocument: number): CorpusShape {
  const perDocument = Math.min(pagesPerDocument, pages);
  return { documents: Math.ceil(pages / perDocument), pagesPerDocument: perDocument };
}

export interface CorpusDocument extends IndexListing {
  pageCount: number;
}

export interface Corpus {
  kind: CorpusKind;
  /** The folder to serve: index.html plus minutes/ and agendas/. */
  dir: string;
  documents: CorpusDocument[];
  totalPages: number;
  bytes: number;
  /** Seconds spent generating; 0 when the corpus came from the cache. */
  generatedSeconds: number;
  cached: boolean;
}

/** Bump when the generated content changes, so stale caches are not reused. */
const CORPUS_VERSION = 1;
const MANIFEST = 'corpus.json';

/** The corpus cache: generated once per shape under the OS temp folder and reused by later runs. */
export function corpusCacheRoot(): string {
  return path.join(os.tmpdir(), 'clerk-bench-corpus');
}

/**
 * Returns the corpus of this kind and shape, generating it into the cache folder the first time.
 * Generation writes a sibling folder and renames it into place, so an interrupted run never
 * leaves a half corpus that a later run would trust.
 */
export async function cachedCorpus(kind: CorpusKind, shape: CorpusShape, log: (line: string) => void = () => {}): Promise<Corpus> {
  const dir = path.join(corpusCacheRoot(), `${kind}-${shape.documents}x${shape.pagesPerDocument}-v${CORPUS_VERSION}`);
  const existing = await readManifest(dir);
  if (existing) return { ...existing, dir, generatedSeconds: 0, cached: true };
  await fs.mkdir(corpusCacheRoot(), { recursive: true });
  const building = `${dir}.building-${process.pid}-${randomUUID().slice(0, 8)}`;
  log(`generating ${kind} corpus ${shape.documents} docs x ${shape.pagesPerDocument} pages into ${dir}`);
  const started = performance.now();
  const forget = removeAtExit(building);
  try {
    const corpus = await writeCorpus(building, kind, shape);
    try {
      await fs.rename(building, dir);
    } catch (error) {
      // Another run finished the same corpus first: use theirs.
      const theirs = await readManifest(dir);
      if (!theirs) throw error;
      await fs.rm(building, { recursive: true, force: true });
      return { ...theirs, dir, generatedSeconds: 0, cached: true };
    }
    return { ...corpus, dir, generatedSeconds: (performance.now() - started) / 1000, cached: false };
  } catch (error) {
    await fs.rm(building, { recursive: true, force: true });
    throw error;
  } finally {
    forget();
  }
}

async function readManifest(dir: string): Promise<Omit<Corpus, 'dir' | 'generatedSeconds' | 'cached'> | undefined> {
  try {
    return JSON.parse(await fs.readFile(path.join(dir, MANIFEST), 'utf8')) as Omit<Corpus, 'dir' | 'generatedSeconds' | 'cached'>;
  } catch {
    return undefined;
  }
}

/** Writes a site of `shape` into outDir (which it creates): PDFs, index.html, then corpus.json. */
export async function writeCorpus(outDir: string, kind: CorpusKind, shape: CorpusShape): Promise<Omit<Corpus, 'dir' | 'generatedSeconds' | 'cached'>> {
  if (shape.documents < 1 || shape.pagesPerDocument < 1) throw new RangeError('a corpus needs at least one document of one page');
  await fs.mkdir(outDir, { recursive: true });
  const documents: CorpusDocument[] = [];
  let bytes = 0;
  for (const { listing, pages } of corpusDocuments(kind, shape)) {
    const title = `${listing.meeting} ${listing.kind === 'minutes' ? 'Minutes' : 'Agenda'} ${listing.date}`;
    const pdf = kind === 'scanned' ? await makeScannedPdf(pages, title, SCAN_DPI) : await makeTextPdf(pages, title);
    const target = path.join(outDir, ...listing.path.split('/'));
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.writeFile(target, pdf);
    bytes += pdf.byteLength;
    documents.push({ ...listing, pageCount: shape.pagesPerDocument });
  }
  await fs.writeFile(path.join(outDir, 'index.html'), renderIndexPage('City of Benchmark Bay', documents));
  const corpus = { kind, documents, totalPages: shape.documents * shape.pagesPerDocument, bytes };
  await fs.writeFile(path.join(outDir, MANIFEST), JSON.stringify(corpus) + '\n');
  return corpus;
}

export interface GeneratedDocument {
  listing: IndexListing;
  /** Each page's lines, as they are drawn on the PDF page. */
  pages: string[][];
}

/**
 * The documents of a corpus of this kind and shape, without making PDFs: what writeCorpus draws,
 * for benchmarks that need the text (the serve benchmark builds meetings.db from it). Documents
 * `firstDocument` on continue the same sequence (later dates, other seeds), for a second site whose
 * text is not a copy of the first's.
 */
export function* corpusDocuments(kind: CorpusKind, shape: CorpusShape, options: { firstDocument?: number } = {}): Generator<GeneratedDocument> {
  const first = options.firstDocument ?? 0;
  for (let d = first; d < first + shape.documents; d++) {
    const listing = listingFor(d, kind);
    const random = mulberry32(0x5eed + d * 7919 + (kind === 'scanned' ? 1 : 0));
    const pages = Array.from({ length: shape.pagesPerDocument }, (_, p) => writePage(random, listing, p + 1, kind === 'scanned' ? SCANNED_LINES : TEXT_LINES));
    yield { listing: { ...listing, path: documentPath(listing) }, pages };
  }
}

/** Lines per page: a full page of 12 pt text; scanned pages a little shorter, like real scans. */
const TEXT_LINES = 40;
const SCANNED_LINES = 30;
const SCAN_DPI = 150;
const WRAP = 84;

const MEETINGS = ['City Council', 'Planning Board', 'Transportation Commission', 'Recreation and Parks Commission', 'Historical Advisory Board', 'Library Board'];

/** Every document is a distinct (kind, meeting, date): one meeting a week per body, from 2012 on. */
function listingFor(d: number, kind: CorpusKind): Omit<IndexListing, 'path'> {
  const meeting = MEETINGS[d % MEETINGS.length]!;
  const week = Math.floor(d / MEETINGS.length);
  const date = new Date(Date.UTC(2012, 0, 2 + week * 7 + (d % MEETINGS.length)));
  const docKind: SampleDocumentKind = kind === 'scanned' || d % 4 !== 3 ? 'minutes' : 'agenda';
  return { kind: docKind, meeting, date: date.toISOString().slice(0, 10) };
}

const MEMBERS = ['Ortiz', 'Chen', 'Ramirez', 'Daysog', 'Nakamura', 'Lindqvist', 'Brennan', 'Haddad', 'Okonkwo', 'Petrov'];
const PRESIDING = ['Mayor Ashcraft', 'President Teague', 'Chair Whitcombe', 'Mayor Delacroix'];
const STAFF: [string, string][] = [
  ['Jennifer Ott', 'City Manager'],
  ['Marcus Feld', 'Public Works Director'],
  ['Andrea Voss', 'Community Development Director'],
  ['Nathan Pryor', 'Finance Director'],
  ['Jonah Whitfield', 'Recreation and Parks Director'],
  ['Priya Raman', 'City Attorney'],
  ['Gabriel Ruiz', 'Transportation Planner'],
  ['Lena Hartmann', 'Library Director'],
];
const SPEAKERS = ['Helen Okafor', 'Tom Brandt', 'Rosa Delgado', 'Martin Cole', 'Yuki Tanaka', 'Samuel Adeyemi', 'Grace Kowalski', 'Omar Farouk', 'Irene Castillo', 'Derek Lam'];
const ORGS = [
  'Sierra Club',
  'Bay Area Rapid Transit',
  'Metropolitan Transportation Commission',
  'Alameda Unified School District',
  'Chamber of Commerce',
  'League of Women Voters',
  'Housing Authority',
  'East Bay Regional Park District',
  'Alameda County Transportation Commission',
  'Downtown Business Association',
];
const COMPANIES = ['Bayline Paving, Inc.', 'Harbor Civil Engineering', 'Westshore Builders LLC', 'Pacific Tree Care', 'Redwood Systems Corporation', 'Estuary Marine Services'];
const STREETS = ['Webster Street', 'Park Street', 'Santa Clara Avenue', 'Lincoln Avenue', 'Shoreline Drive', 'Otis Drive', 'Encinal Avenue', 'Buena Vista Avenue', 'Central Avenue', 'Grand Street'];
const PROJECTS = [
  'Resurfacing Project',
  'Storm Drain Outfall Repairs',
  'Protected Bike Lane Pilot',
  'Affordable Housing Development',
  'Tree Canopy Plan',
  'Library Branch Renovation',
  'Parking Management Study',
  'Seawall Rehabilitation',
  'Pedestrian Safety Improvements',
];
const CONCERNS = ['sidewalk damage from roots', 'traffic on side streets', 'the loss of parking', 'construction noise', 'the project schedule', 'the cost to residents'];

type Random = () => number;

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function members(random: Random, count: number): string[] {
  const chosen = new Set<string>();
  while (chosen.size < count) chosen.add(pick(random, MEMBERS));
  return [...chosen];
}

function money(random: Random): string {
  return `$${(Math.floor(random() * 2_000) * 1_250 + 25_000).toLocaleString('en-US')}`;
}

/** Greedy word wrap to the page width (Helvetica 12 pt, no automatic wrapping in makeTextPdf). */
function wrap(text: string, indent = ''): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > WRAP) {
      lines.push(line);
      line = indent + word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** One page: a header on page 1, then minutes items (or agenda items) until the page is full. */
function writePage(random: Random, listing: Omit<IndexListing, 'path'>, page: number, maxLines: number): string[] {
  const lines: string[] = [];
  const [year, month, day] = listing.date.split('-');
  if (page === 1) {
    lines.push('CITY OF BENCHMARK BAY');
    lines.push(`${listing.meeting.toUpperCase()} REGULAR MEETING ${listing.kind === 'minutes' ? 'MINUTES' : 'AGENDA'}`);
    lines.push(`Meeting of ${month}/${day}/${year} - 7:00 p.m., Council Chambers, City Hall, 2263 ${pick(random, STREETS)}`);
    lines.push('');
  }
  while (lines.length < maxLines) {
    const item = listing.kind === 'minutes' ? minutesItem(random, year!, page) : agendaItem(random, page);
    if (lines.length + item.length > maxLines && lines.length > 0) {
      lines.push(...item.slice(0, maxLines - lines.length));
      break;
    }
    lines.push(...item, '');
  }
  return lines.slice(0, maxLines);
}

function minutesItem(random: Random, year: string, page: number): string[] {
  const number = `(${year.slice(2)}-${String(100 + page * 7 + Math.floor(random() * 7)).padStart(3, '0')})`;
  const street = pick(random, STREETS);
  const project = pick(random, PROJECTS);
  const [staffName, staffTitle] = pick(random, STAFF);
  const presiding = pick(random, PRESIDING);
  const voters = members(random, 5);
  const [mover, seconder] = voters;
  const nays = random() < 0.35 ? voters.slice(4) : [];
  const ayes = voters.filter((m) => !nays.includes(m));
  const lines: string[] = [];
  lines.push(...wrap(`${number} Recommendation to Approve a Contract with ${pick(random, COMPANIES)} in an Amount Not to Exceed ${money(random)} for the ${street} ${project}.`));
  lines.push(...wrap(`The ${staffTitle}, ${staffName}, gave a presentation and stated that the work would begin in ${pick(random, ['March', 'June', 'September', 'the spring', 'the fall'])}.`));
  if (random() < 0.7) {
    const speaker = pick(random, SPEAKERS);
    lines.push(...wrap(`Speakers: ${speaker}, ${pick(random, ORGS)}, in support; ${pick(random, SPEAKERS.filter((s) => s !== speaker))}, concerned about ${pick(random, CONCERNS)}.`));
  }
  if (random() < 0.5) {
    lines.push(...wrap(`Council Member ${mover} asked whether the ${pick(random, ORGS)} would share the cost; ${staffName.split(' ')[1]} responded that a grant of ${money(random)} is pending.`));
  }
  lines.push(...wrap(`Motion by Council Member ${mover}, seconded by Council Member ${seconder}, to approve the recommendation.`));
  lines.push(...wrap(`Ayes: Council Members ${ayes.join(', ')} - ${ayes.length}.`, '      '));
  lines.push(nays.length ? `Noes: Council Member ${nays.join(', ')} - ${nays.length}. The motion carried ${ayes.length}-${nays.length}.` : `Noes: None. The motion carried unanimously ${ayes.length}-0.`);
  if (random() < 0.2) lines.push(...wrap(`${presiding} noted that the item will return to the ${pick(random, MEETINGS)} in ${pick(random, ['April', 'July', 'October'])}.`));
  return lines;
}

function agendaItem(random: Random, page: number): string[] {
  const number = `${page + 3}-${String.fromCharCode(65 + Math.floor(random() * 6))}.`;
  const street = pick(random, STREETS);
  switch (Math.floor(random() * 3)) {
    case 0:
      return wrap(`${number} Recommendation to Approve a Contract with ${pick(random, COMPANIES)} in an Amount Not to Exceed ${money(random)} for the ${street} ${pick(random, PROJECTS)}.`, '     ');
    case 1:
      return wrap(
        `${number} Adoption of Resolution No. ${16_000 + Math.floor(random() * 900)} Accepting a Grant of ${money(random)} from the ${pick(random, ORGS)} for ${street} ${pick(random, PROJECTS)}.`,
        '     ',
      );
    default:
      return wrap(`${number} Public Hearing to Consider the ${street} ${pick(random, PROJECTS)}; the ${pick(random, ORGS)} has submitted written comments. (${pick(random, STAFF)[1]})`, '     ');
  }
}

/** A small, fast, seedable PRNG, so every run generates identical bytes. */
export function mulberry32(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------------
// Running a corpus through the pipeline (shared by the benchmarks)

export interface ServedSite {
  subdomain: string;
  server: StaticServer;
}

/** Serves the corpus folder over HTTP and registers it as a site with the http-index fetcher. */
export async function serveCorpusSite(stack: BenchStack, corpus: Corpus, subdomain: string): Promise<ServedSite> {
  const server = await serveDirectory(corpus.dir);
  await saveSite(stack.db, { subdomain, name: `Benchmark ${corpus.kind} site`, fetcher: 'http-index', sourceUrl: `${server.url}/index.html` });
  return { subdomain, server };
}

export interface SiteRun {
  workflowId: string;
  runId: string;
  status: SiteStatus;
  /** Enqueue to the site workflow's result, in seconds. */
  wallSeconds: number;
  startedAt: Date;
  finishedAt: Date;
}

/** Enqueues the site and waits for its workflow's result, timing the whole pipeline. */
export async function runSite(stack: BenchStack, subdomain: string, limits?: Partial<FanOutLimits>): Promise<SiteRun> {
  const startedAt = new Date();
  const t0 = performance.now();
  const run = await enqueueSite(stack.client, stack.config, subdomain, limits ? { limits } : {});
  const status = await stack.client.workflow.getHandle<typeof siteWorkflow>(run.workflowId).result();
  const wallSeconds = (performance.now() - t0) / 1000;
  return { workflowId: run.workflowId, runId: run.runId, status, wallSeconds, startedAt, finishedAt: new Date() };
}

export interface JobTypeTimes {
  jobType: string;
  count: number;
  /** First start to last finish of this activity type, in seconds. */
  spanSeconds: number;
  /** Sum of the executions' durations, in seconds. */
  busySeconds: number;
  firstStart: Date;
  lastFinish: Date;
}

/** Per activity type times from job_tracking, in order of first start. */
export async function jobTimes(db: Db, subdomain: string): Promise<JobTypeTimes[]> {
  const rows = await db
    .selectFrom('job_tracking')
    .select([
      'job_type',
      sql<Date>`min(started_at)`.as('first_start'),
      sql<Date>`max(finished_at)`.as('last_finish'),
      sql<number>`count(*)::int`.as('count'),
      sql<number>`coalesce(sum(extract(epoch from finished_at - started_at)), 0)::float8`.as('busy'),
    ])
    .where('subdomain', '=', subdomain)
    .groupBy('job_type')
    .orderBy(sql`min(started_at)`)
    .execute();
  return rows.map((row) => ({
    jobType: row.job_type,
    count: Number(row.count),
    spanSeconds: (row.last_finish.getTime() - row.first_start.getTime()) / 1000,
    busySeconds: Number(row.busy),
    firstStart: row.first_start,
    lastFinish: row.last_finish,
  }));
}

/** Each execution of one activity type, in order of start: seconds it took. */
export async function jobDurations(db: Db, subdomain: string, jobType: string): Promise<number[]> {
  const rows = await db
    .selectFrom('job_tracking')
    .select(['started_at', 'finished_at'])
    .where('subdomain', '=', subdomain)
    .where('job_type', '=', jobType)
    .where('finished_at', 'is not', null)
    .orderBy('started_at')
    .orderBy('id')
    .execute();
  return rows.map((row) => (row.finished_at!.getTime() - row.started_at.getTime()) / 1000);
}

/**
 * Seconds of the run during which at least one activity was executing: the rest is orchestration
 * (scheduling, workflow tasks, polling) with nothing running.
 */
export async function activityCoveredSeconds(db: Db, subdomain: string): Promise<number> {
  const rows = await db
    .selectFrom('job_tracking')
    .select(['started_at', 'finished_at'])
    .where('subdomain', '=', subdomain)
    .where('finished_at', 'is not', null)
    .orderBy('started_at')
    .execute();
  return coveredMs(rows.map((row) => ({ start: row.started_at.getTime(), end: row.finished_at!.getTime() }))) / 1000;
}

/** Milliseconds covered by at least one of the intervals, which come sorted by start. */
export function coveredMs(intervals: readonly { start: number; end: number }[]): number {
  let covered = 0;
  let start = -Infinity;
  let end = -Infinity;
  for (const interval of intervals) {
    if (interval.start > end) {
      if (end > start) covered += end - start;
      start = interval.start;
      end = interval.end;
    } else end = Math.max(end, interval.end);
  }
  if (end > start) covered += end - start;
  return covered;
}

/**
 * Runs `work`, then the closers it registered with `defer`, in reverse order. SIGINT and SIGTERM
 * run them too, so an interrupted benchmark still stops its Postgres and Temporal server. On
 * Ctrl-C those servers get the signal as well and go down first: errors from their dropped
 * connections are then expected, and are logged instead of crashing the cleanup.
 */
export async function withCleanup<T>(work: (defer: (close: () => Promise<void>) => void) => Promise<T>): Promise<T> {
  const closers: (() => Promise<void>)[] = [];
  let closing: Promise<void> | undefined;
  const closeAll = () => {
    closing ??= (async () => {
      for (const close of closers.splice(0).reverse()) await close().catch((error: unknown) => console.error('cleanup:', errorMessage(error)));
    })();
    return closing;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`\n${signal}: cleaning up`);
    process.on('uncaughtException', (error) => console.error('during cleanup:', errorMessage(error)));
    process.on('unhandledRejection', (error) => console.error('during cleanup:', errorMessage(error)));
    setTimeout(() => process.exit(130), 60_000).unref();
    void closeAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await work((close) => closers.push(close));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await closeAll();
  }
}

const removeOnExit = new Set<string>();

/**
 * Removes `dir` when the process exits, however it exits (a crash, a forced exit during cleanup),
 * unless the returned function is called first because it was removed normally.
 */
export function removeAtExit(dir: string): () => void {
  if (removeOnExit.size === 0) {
    process.on('exit', () => {
      for (const path of removeOnExit) fs_rmSync(path, { recursive: true, force: true });
    });
  }
  removeOnExit.add(dir);
  return () => removeOnExit.delete(dir);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
