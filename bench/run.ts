/**
 * clerk's benchmarks. Each reports a ratio against a baseline measured in the same run, because
 * the machines they run on are noisy. See docs/BENCHMARKS.md.
 *
 *   node bin/bench.mjs [ocr|overhead|scale|extraction|ocr-quality|text-layer|serve|status|counters|rerun|status-query|peer|fleet|all] [--json] [--pages N] [--scale-pages N]
 *                    [--ocr-pages N] [--overhead-pages N] [--serve-pages N] [--rerun-pages N] [--status-query-pages N] [--peer-pages N]
 *
 * --pages N sets the size of the selected ocr, overhead, serve, rerun or status-query benchmark
 * (rerun: its text-layer pages; status-query: the scanned pages in flight; with `all`, of ocr and
 * overhead); --ocr-pages / --overhead-pages / --serve-pages / --rerun-pages /
 * --status-query-pages / --peer-pages (peer: the mixed corpus's text-layer pages) set one of them explicitly. Tables go to stdout, or with --json
 * one JSON object per result goes to stdout and the tables to stderr.
 * Progress goes to stderr.
 * `all` (and --json) runs each benchmark in its own child process; with --json the child's stdout
 * is this process's stderr, so the banner the Temporal dev server prints on its inherited stdout
 * cannot corrupt the JSON.
 * Exit code 1 when a benchmark fails or its correctness checks do not hold (a missed ratio
 * target is reported, not an error).
 *
 * --save merges the results of the benchmarks that ran into docs/benchmarks/results.jsonl (a
 * benchmark's new results replace its earlier ones) and redraws docs/benchmarks.svg from it.
 *   node bin/bench.mjs chart [--from FILE] [--out FILE.svg]   only redraws the chart (bench/chart.ts).
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { ocrThroughput } from './ocr-throughput.js';
import { orchestrationOverhead } from './orchestration-overhead.js';
import { scale } from './scale.js';

export type Log = (line: string) => void;

/** What a benchmark returns; run.ts adds the date and the machine. */
export interface BenchOutcome {
  benchmark: 'ocr-throughput' | 'orchestration-overhead' | 'scale' | 'extraction' | 'ocr-quality' | 'text-layer' | 'serve' | 'status' | 'counters' | 'rerun' | 'status-query' | 'peer' | 'fleet';
  sizes: Record<string, number>;
  metrics: Record<string, number | string | boolean | null>;
  ratio?: { value: number; target: string; meets: boolean; definition: string };
  /** The run's correctness checks held (every page done, counts agree). */
  ok: boolean;
  notes: string[];
}

export interface BenchResult extends BenchOutcome {
  date: string;
  machine: Machine;
}

interface Machine {
  cpuModel: string;
  cpus: number;
  parallelism: number;
  memoryGiB: number;
  loadAverage1m: number;
  node: string;
  platform: string;
  tesseract: string | null;
}

const DEFAULTS = { ocr: 16, overhead: 2_000, scale: 20_000, serve: 20_000, rerun: 60, statusQuery: 1_000, peer: 40, fleet: 1_000 };
const BENCHMARKS = ['ocr', 'overhead', 'scale', 'extraction', 'ocr-quality', 'text-layer', 'serve', 'status', 'counters', 'rerun', 'status-query', 'peer', 'fleet'] as const;
type BenchmarkName = (typeof BENCHMARKS)[number];

interface Options {
  selected: BenchmarkName[];
  json: boolean;
  /** Merge the results into the published results file and redraw its chart. */
  save: boolean;
  /** `chart`: only draw the chart of a results file (default: the published one) into an SVG file. */
  chart: { from?: string; out?: string } | null;
  ocrPages: number;
  overheadPages: number;
  scalePages: number;
  servePages: number;
  rerunPages: number;
  statusQueryPages: number;
  peerPages: number;
  fleetSites: number;
}

function usage(): string {
  return 'usage: node bin/bench.mjs [ocr|overhead|scale|extraction|ocr-quality|text-layer|serve|status|counters|rerun|status-query|peer|fleet|all] [--json] [--pages N] [--scale-pages N] [--ocr-pages N] [--overhead-pages N] [--serve-pages N] [--rerun-pages N] [--status-query-pages N] [--peer-pages N] [--sites N] [--save]\n       node bin/bench.mjs chart [--from results.jsonl] [--out chart.svg]';
}

function parseArgs(argv: string[]): Options {
  let which: BenchmarkName | 'all' = 'all';
  let json = false;
  let save = false;
  let chart = false;
  let chartFrom: string | undefined;
  let chartOut: string | undefined;
  let pages: number | undefined;
  let ocrPages: number | undefined;
  let overheadPages: number | undefined;
  let scalePages: number | undefined;
  let servePages: number | undefined;
  let rerunPages: number | undefined;
  let statusQueryPages: number | undefined;
  let peerPages: number | undefined;
  let fleetSites: number | undefined;
  const count = (flag: string, value: string | undefined): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} needs a whole number of pages of at least 1, got "${value ?? ''}"`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--json':
        json = true;
        break;
      case '--save':
        save = true;
        break;
      case '--from':
        chartFrom = value();
        break;
      case '--out':
        chartOut = value();
        break;
      case '--pages':
        pages = count(flag, value());
        break;
      case '--ocr-pages':
        ocrPages = count(flag, value());
        break;
      case '--overhead-pages':
        overheadPages = count(flag, value());
        break;
      case '--scale-pages':
        scalePages = count(flag, value());
        break;
      case '--serve-pages':
        servePages = count(flag, value());
        break;
      case '--rerun-pages':
        rerunPages = count(flag, value());
        break;
      case '--status-query-pages':
        statusQueryPages = count(flag, value());
        break;
      case '--peer-pages':
        peerPages = count(flag, value());
        break;
      case '--sites':
        fleetSites = count(flag, value());
        break;
      case '-h':
      case '--help':
        console.log(usage());
        process.exit(0);
      default:
        if (arg === 'all' || (BENCHMARKS as readonly string[]).includes(arg)) which = arg as BenchmarkName | 'all';
        else if (arg === 'chart') chart = true;
        else throw new UsageError(`unknown argument "${arg}"`);
    }
  }
  return {
    selected: which === 'all' ? [...BENCHMARKS] : [which],
    json,
    save,
    chart: chart ? { from: chartFrom, out: chartOut } : null,
    ocrPages: ocrPages ?? pages ?? DEFAULTS.ocr,
    overheadPages: overheadPages ?? pages ?? DEFAULTS.overhead,
    scalePages: scalePages ?? DEFAULTS.scale,
    // --pages sizes serve only when serve alone is run: `all --pages 200` means a small ocr and overhead run, not a small search database.
    servePages: servePages ?? (which === 'serve' ? pages : undefined) ?? DEFAULTS.serve,
    rerunPages: rerunPages ?? (which === 'rerun' ? pages : undefined) ?? DEFAULTS.rerun,
    statusQueryPages: statusQueryPages ?? (which === 'status-query' ? pages : undefined) ?? DEFAULTS.statusQuery,
    peerPages: peerPages ?? (which === 'peer' ? pages : undefined) ?? DEFAULTS.peer,
    fleetSites: fleetSites ?? DEFAULTS.fleet,
  };
}

class UsageError extends Error {}

function machine(): Machine {
  let tesseract: string | null = null;
  try {
    tesseract = execFileSync('tesseract', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0]!.trim();
  } catch {
    tesseract = null;
  }
  return {
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    cpus: os.cpus().length,
    parallelism: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAverage1m: Math.round(os.loadavg()[0]! * 100) / 100,
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    tesseract,
  };
}

/** A two-column table: sizes, metrics, the ratio, notes. */
export function formatTable(result: BenchResult): string {
  const rows: [string, string][] = [];
  const m = result.machine;
  rows.push(['date', result.date]);
  rows.push(['machine', `${m.cpuModel}, ${m.parallelism} cores, ${m.memoryGiB} GiB, load ${m.loadAverage1m} at start, node ${m.node}`]);
  for (const [key, value] of Object.entries(result.sizes)) rows.push([`size.${key}`, String(value)]);
  for (const [key, value] of Object.entries(result.metrics)) rows.push([key, String(value)]);
  if (result.ratio) rows.push(['RATIO', `${result.ratio.value} (target ${result.ratio.target}: ${result.ratio.meets ? 'met' : 'NOT met'})`]);
  rows.push(['checks', result.ok ? 'ok' : 'FAILED']);
  const width = Math.max(...rows.map(([key]) => key.length));
  const lines = [`== ${result.benchmark} ==`, ...rows.map(([key, value]) => `  ${key.padEnd(width)}  ${value}`)];
  if (result.ratio) lines.push(`  (ratio: ${result.ratio.definition})`);
  for (const note of result.notes) lines.push(`  note: ${note}`);
  return lines.join('\n') + '\n';
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${error.message}\n${usage()}`);
    return 2;
  }
  if (options.chart) {
    // Loaded on demand: only the chart needs Vega.
    const { writeChart } = await import('./chart.js');
    const out = await writeChart(options.chart.from, options.chart.out);
    console.error(`chart: ${out}`);
    return 0;
  }
  const inChild = process.env[CHILD_ENV] !== undefined;
  if (!inChild && (options.selected.length > 1 || options.json || options.save)) {
    // One child process per benchmark: each starts from a fresh process (clean RSS, no warm
    // state or garbage left by the previous one), and --json output stays clean (see runChild).
    let exitCode = 0;
    /** What the children wrote on their result pipe: JSON lines. */
    const emitted: string[] = [];
    for (const name of options.selected) {
      const sizes = ['--ocr-pages', String(options.ocrPages), '--overhead-pages', String(options.overheadPages), '--scale-pages', String(options.scalePages), '--serve-pages', String(options.servePages), '--rerun-pages', String(options.rerunPages), '--status-query-pages', String(options.statusQueryPages), '--peer-pages', String(options.peerPages), '--sites', String(options.fleetSites)];
      exitCode = Math.max(exitCode, await runChild([name, ...sizes, ...(options.json ? ['--json'] : [])], options.json, emitted));
    }
    if (options.save) {
      const { saveResults } = await import('./chart.js');
      const { parseResults } = await import('./support/results-file.js');
      const saved = await saveResults(parseResults(emitted.join('')));
      console.error(`saved ${saved.results} (${saved.fresh} new) and drew ${saved.chart}`);
    }
    return exitCode;
  }
  const [name] = options.selected;
  if (!name || options.selected.length !== 1) throw new Error('one benchmark per process');
  // A child always sends its result to the parent on fd 3 (for --json and --save), with tables or not.
  const emitJson = (value: unknown) => fs.writeSync(inChild ? JSON_FD : 1, JSON.stringify(value) + '\n');
  const log: Log = (line) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
  const runners: Record<BenchmarkName, () => Promise<BenchOutcome>> = {
    ocr: () => ocrThroughput({ pages: options.ocrPages, log }),
    overhead: () => orchestrationOverhead({ pages: options.overheadPages, log }),
    scale: () => scale({ pages: options.scalePages, log }),
    // Loaded on demand: it needs neither Temporal nor Postgres.
    extraction: async () => (await import('./extraction.js')).extraction({ seconds: 3, log }),
    'ocr-quality': async () => (await import('./ocr-quality.js')).ocrQuality({ log }),
    'text-layer': async () => (await import('./text-layer.js')).textLayer({ pages: options.overheadPages, log }),
    // Loaded on demand too: neither Temporal nor Postgres, only the built databases and the server.
    serve: async () => (await import('./serve.js')).serveLatency({ pages: options.servePages, log }),
    // `clerk status` on a fleet of 1,000 sites, 100 of them in a run (compiled CLI, end to end).
    status: async () => (await import('./status.js')).statusLatency({ sites: 1_000, active: 100, log }),
    // site_progress under 8 concurrent page writers on one site of 20,000 pages (Postgres only).
    counters: async () => (await import('./counters.js')).counters({ pages: 20_000, writers: 8, log }),
    // A mixed site run twice, the second time unchanged: what an incremental re-run still costs.
    rerun: async () => (await import('./rerun.js')).rerun({ pages: options.rerunPages, log }),
    // The status query and `clerk status <site> --json` on a site with ~1,000 scanned pages in flight.
    'status-query': async () => (await import('./status-query.js')).statusQueryLatency({ pages: options.statusQueryPages, log }),
    // clerk against BullMQ on the same corpora in the same run, and the same worker kill in both.
    peer: async () => (await import('./peer.js')).peer({ pages: options.peerPages, log }),
    // 1,000 small sites refreshed, 5% with a new document: clerk's fleet refresh against the BullMQ peer.
    fleet: async () => (await import('./fleet.js')).fleetRefresh({ sites: options.fleetSites, log }),
  };
  const startedOn = machine();
  const date = new Date().toISOString();
  try {
    const outcome = await runners[name]();
    const result: BenchResult = { ...outcome, date, machine: startedOn };
    if (options.json) {
      process.stderr.write(formatTable(result));
      emitJson(result);
    } else {
      process.stdout.write(formatTable(result) + '\n');
      if (inChild) emitJson(result);
    }
    return result.ok ? 0 : 1;
  } catch (error) {
    log(`${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    if (options.json || inChild) emitJson({ benchmark: name, date, machine: startedOn, error: String(error) });
    return 1;
  }
}

const CHILD_ENV = 'CLERK_BENCH_CHILD';
const JSON_FD = 3;

/**
 * Runs this script again as a child for one benchmark. With --json the child's stdout (which the
 * Temporal dev server inherits and prints its banner on) goes to our stderr, and the child writes
 * its JSON line to fd 3, which we copy to our stdout. Without --json the child writes it there
 * too; either way it is appended to `emitted` (for --save).
 */
function runChild(args: string[], json: boolean, emitted: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...args], {
      stdio: ['inherit', json ? process.stderr : 'inherit', 'inherit', 'pipe'],
      env: { ...process.env, [CHILD_ENV]: '1' },
    });
    const results = child.stdio[JSON_FD] as NodeJS.ReadableStream;
    results.setEncoding('utf8');
    results.on('data', (chunk: string) => emitted.push(chunk));
    if (json) results.pipe(process.stdout, { end: false });
    // Ctrl-C reaches the child too (same process group): it cleans up and exits, then so do we.
    const onInt = () => {};
    const onTerm = () => child.kill('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      if (signal === 'SIGINT' || code === 130) process.exit(130);
      resolve(code ?? 1);
    });
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
