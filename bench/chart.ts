/**
 * The chart of the published benchmark results (docs/benchmarks.svg): one bar per benchmark's
 * ratio against its baseline or peer, the target drawn across the bar, met or missed by colour.
 * Rendered with Vega-Lite headless (no browser, no canvas, no fonts or data fetched), so
 * `node bin/bench.mjs chart` and `--save` redraw it on any machine.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { BenchResult } from './run.js';
import { CHART_FILE, mergeResults, readResults, RESULTS_FILE, writeResults } from './support/results-file.js';

type Better = 'higher' | 'lower';

/** One bar: what the chart shows of a result that has a ratio. */
interface Bar {
  label: string;
  ratio: number;
  /** The ratio's target when the target is one (">= 0.9"); null when it is on another figure ("query p99 <= 50 ms"). */
  target: number | null;
  better: Better;
  verdict: 'met' | 'NOT met';
  /** Where the caption starts: right of the bar and of the target mark. */
  captionAt: number;
  caption: string;
}

const COLOURS = { met: '#2e7d32', 'NOT met': '#c62828' } as const;
const PANEL_TITLES: Record<Better, string> = {
  higher: 'Targets that are a minimum (≥): higher is better',
  lower: 'Targets that are a maximum (≤): lower is better',
};

/** ">= 0.9", "<= 1.25", "query p99 <= 50 ms (12 ms)": which way is better, and the ratio's own bound if it has one. */
export function readTarget(target: string): { better: Better; bound: number | null } | null {
  const comparator = /(>=|<=|≥|≤|>|<)/.exec(target)?.[1];
  if (!comparator) return null;
  const better: Better = comparator.startsWith('>') || comparator === '≥' ? 'higher' : 'lower';
  const plain = /^\s*(?:>=|<=|≥|≤|>|<)\s*(-?\d+(?:\.\d+)?)\s*$/.exec(target);
  return { better, bound: plain ? Number(plain[1]) : null };
}

function barsOf(results: readonly BenchResult[]): Bar[] {
  const withRatio = results.filter((result) => result.ratio !== undefined && Number.isFinite(result.ratio.value));
  const count = new Map<string, number>();
  for (const result of withRatio) count.set(result.benchmark, (count.get(result.benchmark) ?? 0) + 1);
  const bars: Bar[] = [];
  for (const result of withRatio) {
    const ratio = result.ratio!;
    const target = readTarget(ratio.target);
    if (!target) continue;
    // Several results of one benchmark (say, two corpora) are told apart by their sizes.
    const sizes = Object.entries(result.sizes).map(([key, value]) => `${key} ${value}`).join(', ');
    const named = count.get(result.benchmark)! > 1 && sizes ? `${result.benchmark} (${sizes})` : result.benchmark;
    // Bars are placed by label: two alike would be drawn as one.
    const alike = bars.filter((bar) => bar.label === named || bar.label.startsWith(`${named} #`)).length;
    const label = alike === 0 ? named : `${named} #${alike + 1}`;
    const verdict = ratio.meets ? 'met' : 'NOT met';
    const targetText = ratio.target.replaceAll('>=', '≥').replaceAll('<=', '≤');
    bars.push({
      label,
      ratio: ratio.value,
      target: target.bound,
      better: target.better,
      verdict,
      captionAt: Math.max(ratio.value, target.bound ?? 0),
      caption: `${ratio.value} (target ${targetText}: ${verdict})${result.ok ? '' : ', checks FAILED'}`,
    });
  }
  return bars;
}

function subtitleOf(results: readonly BenchResult[]): string[] {
  const days = results.map((result) => result.date.slice(0, 10)).sort();
  const first = days[0];
  const last = days[days.length - 1];
  const when = first === last ? `Measured ${first}` : `Measured ${first} to ${last}`;
  const machines = [...new Set(results.map(({ machine: m }) => `${m.cpuModel}, ${m.parallelism} cores, ${m.memoryGiB} GiB, node ${m.node}`))];
  return [`${when} on ${machines.join('; ')}`, 'Each bar: a ratio to a baseline or peer measured in the same run (docs/BENCHMARKS.md).', 'The black mark across it: its target.'];
}

function specOf(results: readonly BenchResult[], bars: readonly Bar[]): TopLevelSpec {
  const panels = (['higher', 'lower'] as const).filter((better) => bars.some((bar) => bar.better === better));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'clerk against its baselines and the peer', subtitle: subtitleOf(results), anchor: 'start' },
    // The panels' plots line up whatever the length of their labels.
    config: { font: 'sans-serif', view: { stroke: null }, axisY: { minExtent: 190, labelLimit: 240 }, legend: { orient: 'top' } },
    vconcat: panels.map((better) => {
      const values = bars.filter((bar) => bar.better === better);
      return {
        title: { text: PANEL_TITLES[better], anchor: 'start', fontSize: 12 },
        data: { values },
        width: 480,
        height: { step: 30 },
        encoding: { y: { field: 'label', type: 'nominal', sort: null, title: null } },
        layer: [
          {
            mark: { type: 'bar', height: { band: 0.7 } },
            encoding: {
              x: { field: 'ratio', type: 'quantitative', title: `ratio (${better} is better)` },
              color: {
                field: 'verdict',
                type: 'nominal',
                title: 'target',
                scale: { domain: Object.keys(COLOURS), range: Object.values(COLOURS) },
              },
            },
          },
          {
            transform: [{ filter: 'datum.target !== null' }],
            mark: { type: 'tick', color: 'black', thickness: 3, bandSize: 26 },
            encoding: { x: { field: 'target', type: 'quantitative' } },
          },
          {
            mark: { type: 'text', align: 'left', dx: 5, fontSize: 11 },
            encoding: { x: { field: 'captionAt', type: 'quantitative' }, text: { field: 'caption' } },
          },
        ],
      };
    }),
  } as TopLevelSpec;
}

/** The chart of these results as a self-contained SVG document. Results without a ratio (scale, extraction) are left out. */
export async function renderChart(results: readonly BenchResult[]): Promise<string> {
  const bars = barsOf(results);
  if (bars.length === 0) throw new Error('none of the results has a ratio with a target to chart');
  const view = new vega.View(vega.parse(compile(specOf(results, bars)).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Draws the chart of a results file into an SVG file; returns the SVG file's path. */
export async function writeChart(resultsFile: string = RESULTS_FILE, chartFile: string = CHART_FILE): Promise<string> {
  const results = readResults(resultsFile);
  if (results.length === 0) throw new Error(`${resultsFile} holds no results: run benchmarks with --save first`);
  const svg = await renderChart(results);
  fs.mkdirSync(path.dirname(path.resolve(chartFile)), { recursive: true });
  fs.writeFileSync(chartFile, svg + '\n');
  return chartFile;
}

/**
 * `--save`: the fresh results merged into the results file (see mergeResults), and the chart
 * redrawn. Returns where they went.
 */
export async function saveResults(
  fresh: readonly BenchResult[],
  resultsFile: string = RESULTS_FILE,
  chartFile: string = CHART_FILE,
): Promise<{ results: string; fresh: number; chart: string }> {
  writeResults(resultsFile, mergeResults(readResults(resultsFile), fresh));
  return { results: resultsFile, fresh: fresh.length, chart: await writeChart(resultsFile, chartFile) };
}
