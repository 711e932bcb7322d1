import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from '../run.js';

const projectRoot = fileURLToPath(new URL('../../', import.meta.url));
/** The published results: the latest run of each benchmark, one JSON object a line. */
export const RESULTS_FILE = path.join(projectRoot, 'docs/benchmarks/results.jsonl');
/** The chart of RESULTS_FILE that docs/BENCHMARKS.md embeds. */
export const CHART_FILE = path.join(projectRoot, 'docs/benchmarks.svg');

/**
 * The saved results with the fresh ones in: a benchmark that ran again replaces every earlier line
 * of that benchmark (a run emits the whole set of its results, so a result the new run no longer
 * produces must not linger), in the place of its first earlier line; benchmarks that did not run
 * keep their lines; a benchmark saved for the first time goes at the end.
 */
export function mergeResults(saved: readonly BenchResult[], fresh: readonly BenchResult[]): BenchResult[] {
  const rerun = new Set(fresh.map((result) => result.benchmark));
  const merged: BenchResult[] = [];
  const placed = new Set<string>();
  for (const result of saved) {
    if (!rerun.has(result.benchmark)) merged.push(result);
    else if (!placed.has(result.benchmark)) {
      placed.add(result.benchmark);
      merged.push(...fresh.filter((candidate) => candidate.benchmark === result.benchmark));
    }
  }
  merged.push(...fresh.filter((result) => !placed.has(result.benchmark)));
  return merged;
}

/**
 * The results in JSON lines text. Lines that are not a result (blank lines, and the
 * `{ benchmark, error }` objects run.ts emits for a benchmark that failed) are left out, so a failed
 * run never replaces a benchmark's last real result.
 */
export function parseResults(text: string): BenchResult[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as unknown)
    .filter(isBenchResult);
}

function isBenchResult(value: unknown): value is BenchResult {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<BenchResult> & { error?: unknown };
  return typeof candidate.benchmark === 'string' && typeof candidate.metrics === 'object' && typeof candidate.date === 'string' && candidate.error === undefined;
}

export function readResults(file: string): BenchResult[] {
  if (!fs.existsSync(file)) return [];
  return parseResults(fs.readFileSync(file, 'utf8'));
}

export function writeResults(file: string, results: readonly BenchResult[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // Written whole to a sibling first, so an interrupted save never leaves half a file.
  const partial = `${file}.partial`;
  fs.writeFileSync(partial, results.map((result) => JSON.stringify(result) + '\n').join(''));
  fs.renameSync(partial, file);
}
