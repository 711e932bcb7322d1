import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { load } from 'cheerio';
import { describe, expect, it } from 'vitest';
import { renderChart, saveResults } from '../../bench/chart.js';
import type { BenchResult } from '../../bench/run.js';
import { mergeResults, parseResults, readResults } from '../../bench/support/results-file.js';

const machine: BenchResult['machine'] = {
  cpuModel: 'Test CPU 9000',
  cpus: 2,
  parallelism: 2,
  memoryGiB: 7.8,
  loadAverage1m: 0.4,
  node: 'v20.20.2',
  platform: 'linux 6.1',
  tesseract: 'tesseract 5.3.0',
};

function result(benchmark: BenchResult['benchmark'], ratio: BenchResult['ratio'], date = '2026-12-03T20:00:00.000Z'): BenchResult {
  return { benchmark, sizes: { pages: 20 }, metrics: { wallSeconds: 1.5 }, ratio, ok: true, notes: [], date, machine };
}

const ocrMet = result('ocr-throughput', { value: 0.93, target: '>= 0.9', meets: true, definition: 'pipeline pages/s / raw tesseract pages/s' });
const rerunMissed = result('rerun', { value: 0.071, target: '<= 0.05', meets: false, definition: 're-run wall time / first run wall time' });
const statusAbsolute = result('status-query', { value: 2.25, target: 'query p99 <= 50 ms (12.5 ms)', meets: true, definition: 'p99 busy / p99 idle' });
const scaleWithoutRatio = result('scale', undefined);

/** The chart's bars with the fill they were drawn in, read from the SVG. */
function barFills(svg: string): string[] {
  const $ = load(svg, { xml: true });
  return $('path[aria-roledescription="bar"]')
    .map((_, bar) => $(bar).attr('fill'))
    .get();
}

describe('the benchmark chart', () => {
  it('draws one bar per benchmark with a ratio, labelled with its name, ratio, target and verdict', async () => {
    const svg = await renderChart([ocrMet, rerunMissed, statusAbsolute, scaleWithoutRatio]);

    expect(svg.startsWith('<svg')).toBe(true);
    for (const label of ['ocr-throughput', 'rerun', 'status-query']) expect(svg).toContain(`>${label}</text>`);
    expect(svg).toContain('0.93 (target ≥ 0.9: met)');
    expect(svg).toContain('0.071 (target ≤ 0.05: NOT met)');
    expect(svg).toContain('2.25 (target query p99 ≤ 50 ms (12.5 ms): met)');
    expect(svg).not.toContain('>scale</text>');
    expect(barFills(svg)).toHaveLength(3);
  });

  it('gives each of several results of one benchmark its own bar', async () => {
    const mixed = result('rerun', { value: 0.04, target: '<= 0.05', meets: true, definition: 're-run / first run' });
    const larger = { ...mixed, sizes: { pages: 60 } };

    const svg = await renderChart([mixed, larger, { ...larger }]);

    expect(barFills(svg)).toHaveLength(3);
    for (const label of ['rerun (pages 20)', 'rerun (pages 60)', 'rerun (pages 60) #2']) expect(svg).toContain(`>${label}</text>`);
  });

  it('colours a missed target differently from a met one', async () => {
    const svg = await renderChart([ocrMet, rerunMissed]);
    const [ocrFill, rerunFill] = barFills(svg);

    expect(ocrFill).toBeDefined();
    expect(ocrFill).not.toBe(rerunFill);
    expect(barFills(await renderChart([ocrMet, statusAbsolute]))).toEqual([ocrFill, ocrFill]);
  });

  it('says which way is better on each axis, and when and where the results were measured', async () => {
    const svg = await renderChart([ocrMet, rerunMissed]);

    expect(svg).toContain('ratio (higher is better)');
    expect(svg).toContain('ratio (lower is better)');
    expect(svg).toContain('Measured 2026-12-03 on Test CPU 9000, 2 cores, 7.8 GiB, node v20.20.2');
  });

  it('is self-contained: nothing fetched when it is viewed', async () => {
    const svg = await renderChart([ocrMet, rerunMissed, statusAbsolute]);

    expect(svg).not.toMatch(/href=|url\(|@import|<image/);
  });
});

describe('saving results', () => {
  it("replaces a benchmark's earlier results with its new ones, in place, and keeps the other benchmarks'", () => {
    const olderOcr = { ...ocrMet, date: '2026-11-01T00:00:00.000Z' };
    const overhead = result('orchestration-overhead', { value: 1.1, target: '<= 1.25', meets: true, definition: 'pipeline / loop' });
    const newRerun = { ...rerunMissed, date: '2026-12-04T00:00:00.000Z' };

    const merged = mergeResults([olderOcr, rerunMissed, overhead], [newRerun, ocrMet, statusAbsolute]);

    expect(merged).toEqual([ocrMet, newRerun, overhead, statusAbsolute]);
  });

  it('replaces every earlier result of a benchmark that emits several with the whole new set', () => {
    const small = { ...ocrMet, sizes: { pages: 8 } };
    const large = { ...ocrMet, sizes: { pages: 16 } };

    expect(mergeResults([small, large, rerunMissed], [large])).toEqual([large, rerunMissed]);
  });

  it('never replaces a result with the error line of a failed run', () => {
    const text = [JSON.stringify(ocrMet), JSON.stringify({ benchmark: 'rerun', date: ocrMet.date, machine, error: 'Error: boom' }), ''].join('\n');

    expect(parseResults(text)).toEqual([ocrMet]);
  });

  it('writes the merged results file and redraws the chart from all of it', async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'clerk-bench-chart-'));
    try {
      const resultsFile = path.join(folder, 'benchmarks/results.jsonl');
      const chartFile = path.join(folder, 'benchmarks.svg');

      await saveResults([ocrMet], resultsFile, chartFile);
      await saveResults([rerunMissed], resultsFile, chartFile);

      expect(readResults(resultsFile)).toEqual([ocrMet, rerunMissed]);
      const svg = fs.readFileSync(chartFile, 'utf8');
      expect(svg).toContain('>ocr-throughput</text>');
      expect(svg).toContain('>rerun</text>');
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});
