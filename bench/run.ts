/**
 * clerk's benchmarks. Each reports a ratio against a baseline measured in the same run, because
 * the machines they run on are noisy. See docs/BENCHMARKS.md.
 *
 *   tsx bench/run.ts [ocr|overhead|scale|extraction|ocr-quality|text-layer|serve|status|counters|rerun|all] [--json] [--pages N] [--scale-pages N]
 *                    [--ocr-pages N] [--overhead-pages N] [--serve-pages N] [--rerun-pages N]
 *
 * --pages N sets the size of the selected ocr, overhead, serve or rerun benchmark (rerun: its
 * text-layer pages; with `all`, of ocr and overhead); --ocr-pages / --overhead-pages /
 * --serve-pages / --rerun-pages set one of them explicitly. Tables go to stdout, or with --json
 * one JSON object per result goes to stdout and the tables to stderr.
 * Progress goes to stderr.
 * `all` (and --json) runs each benchmark in its own child process; with --json the child's stdout
 * is this process's stderr, so the banner the Temporal dev server prints on its inherited stdout
 * cannot corrupt the JSON.
 * Exit code 1 when a benchmark fails or its correctness checks do not hold (a missed ratio
 * target is reported, not an error).
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
  benchmark: 'ocr-throughput' | 'orchestration-overhead' | 'scale' | 'extraction' | 'ocr-quality' | 'text-layer' | 'serve' | 'status' | 'counters' | 'rerun';
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

const DEFAULTS = { ocr: 16, overhead: 2_000, scale: 20_000, serve: 20_000, rerun: 60 };
const BENCHMARKS = ['ocr', 'overhead', 'scale', 'extraction', 'ocr-quality', 'text-layer', 'serve', 'status', 'counters', 'rerun'] as const;
type BenchmarkName = (typeof BENCHMARKS)[number];

interface Options {
  selected: BenchmarkName[];
  json: boolean;
  ocrPages: number;
  overheadPages: number;
  scalePages: number;
  servePages: number;
  rerunPages: number;
}

function usage(): string {
  return 'usage: tsx bench/run.ts [ocr|overhead|scale|extraction|ocr-quality|text-layer|serve|status|counters|rerun|all] [--json] [--pages N] [--scale-pages N] [--ocr-pages N] [--overhead-pages N] [--serve-pages N] [--rerun-pages N]';
}

function parseArgs(argv: string[]): Options {
  let which: BenchmarkName | 'all' = 'all';
  let json = false;
  let pages: number | undefined;
  let ocrPages: number | undefined;
  let overheadPages: number | undefined;
  let scalePages: number | undefined;
  let servePages: number | undefined;
  let rerunPages: number | undefined;
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
      case '-h':
      case '--help':
        console.log(usage());
        process.exit(0);
      default:
        if (arg === 'all' || (BENCHMARKS as readonly string[]).includes(arg)) which = arg as BenchmarkName | 'all';
        else throw new UsageError(`unknown argument "${arg}"`);
    }
  }
  return {
    selected: which === 'all' ? [...BENCHMARKS] : [which],
    json,
    ocrPages: ocrPages ?? pages ?? DEFAULTS.ocr,
    overheadPages: overheadPages ?? pages ?? DEFAULTS.overhead,
    scalePages: scalePages ?? DEFAULTS.scale,
    // --pages sizes serve only when serve alone is run: `all --pages 200` means a small ocr and overhead run, not a small search database.
    servePages: servePages ?? (which === 'serve' ? pages : undefined) ?? DEFAULTS.serve,
    rerunPages: rerunPages ?? (which === 'rerun' ? pages : undefined) ?? DEFAULTS.rerun,
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
  const inChild = process.env[CHILD_ENV] !== undefined;
  if (!inChild && (options.selected.length > 1 || options.json)) {
    // One child process per benchmark: each starts from a fresh process (clean RSS, no warm
    // state or garbage left by the previous one), and --json output stays clean (see runChild).
    let exitCode = 0;
    for (const name of options.selected) {
      const sizes = ['--ocr-pages', String(options.ocrPages), '--overhead-pages', String(options.overheadPages), '--scale-pages', String(options.scalePages), '--serve-pages', String(options.servePages), '--rerun-pages', String(options.rerunPages)];
      exitCode = Math.max(exitCode, await runChild([name, ...sizes, ...(options.json ? ['--json'] : [])], options.json));
    }
    return exitCode;
  }
  const [name] = options.selected;
  if (!name || options.selected.length !== 1) throw new Error('one benchmark per process');
  const emitJson = (value: unknown) => fs.writeSync(inChild && options.json ? JSON_FD : 1, JSON.stringify(value) + '\n');
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
  };
  const startedOn = machine();
  const date = new Date().toISOString();
  try {
    const outcome = await runners[name]();
    const result: BenchResult = { ...outcome, date, machine: startedOn };
    if (options.json) {
      process.stderr.write(formatTable(result));
      emitJson(result);
    } else process.stdout.write(formatTable(result) + '\n');
    return result.ok ? 0 : 1;
  } catch (error) {
    log(`${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    if (options.json) emitJson({ benchmark: name, date, machine: startedOn, error: String(error) });
    return 1;
  }
}

const CHILD_ENV = 'CLERK_BENCH_CHILD';
const JSON_FD = 3;

/**
 * Runs this script again as a child for one benchmark. With --json the child's stdout (which the
 * Temporal dev server inherits and prints its banner on) goes to our stderr, and the child writes
 * its JSON line to fd 3, which we copy to our stdout.
 */
function runChild(args: string[], json: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...args], {
      stdio: ['inherit', json ? process.stderr : 'inherit', 'inherit', json ? 'pipe' : 'ignore'],
      env: { ...process.env, [CHILD_ENV]: '1' },
    });
    if (json) (child.stdio[JSON_FD] as NodeJS.ReadableStream).pipe(process.stdout, { end: false });
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
