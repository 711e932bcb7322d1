import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { runLaunched } from '../pdf/launcher.js';
import fs from 'node:fs/promises';
import { abortReason } from './abort-reason.js';
import type { OcrEngine, OcrOptions, OcrResult } from './engine.js';
import { missingLanguageError, OCR_PAGE_SEGMENTATION, resolveLanguages } from './languages.js';
import { normalizeOcrText } from './normalize-text.js';
import { encodePgm, parsePgm, rotatePgm } from './page-image.js';
import { readTesseractTsv, type TsvSummary } from './tsv.js';

const STDERR_TAIL_CHARS = 4000;

/**
 * OCR with the system's `tesseract` binary, one process per page. Each process is held to one
 * thread: callers get parallelism by running several engines, and OpenMP's default of one thread
 * per core in every process would oversubscribe the machine and run slower overall.
 *
 * One run writes the text and a TSV of every word with its confidence. A page that reads badly
 * (low confidence) or whose words stand on end is checked with tesseract's orientation detection
 * (OSD); when that says the page is turned, the image is turned upright and read again, and the
 * better reading is kept with the rotation it needed. Upright pages, nearly all of them, pay for
 * one run only.
 */
export class NativeTesseractEngine implements OcrEngine {
  readonly name = 'tesseract';
  /** Aborts this engine's runs in flight when it is closed. */
  private readonly closing = new AbortController();

  async recognize(imagePath: string, options: OcrOptions = {}): Promise<OcrResult> {
    const { signal } = options;
    signal?.throwIfAborted();
    const languages = resolveLanguages(options.languages);
    const installed = await installedLanguages();
    const missing = languages.filter((lang) => !installed.has(lang));
    if (missing.length > 0) throw missingLanguageError(missing, 'tesseract');
    const first = await this.read(imagePath, languages, options);
    if (!needsOrientationCheck(first.summary)) return result(first, 0);
    const rotate = await this.detectRotation(imagePath, options);
    if (!rotate) return result(first, 0);
    let image;
    try {
      image = parsePgm(await fs.readFile(imagePath), imagePath);
    } catch {
      // Only PGMs are turned here; anything else keeps its first reading.
      return result(first, 0);
    }
    const turnedPath = `${imagePath}.upright-${randomUUID()}.pgm`;
    try {
      await fs.writeFile(turnedPath, encodePgm(rotatePgm(image, rotate)));
      const second = await this.read(turnedPath, languages, options);
      // Tesseract sometimes reads a sideways page well as it is: the page was still turned.
      return (second.summary.confidence ?? -1) >= (first.summary.confidence ?? -1) ? result(second, rotate) : result(first, rotate);
    } finally {
      await fs.rm(turnedPath, { force: true });
    }
  }

  async close(): Promise<void> {
    this.closing.abort(new Error('The tesseract engine was closed.'));
  }

  private async read(imagePath: string, languages: string[], options: OcrOptions): Promise<{ text: string; summary: TsvSummary }> {
    const outBase = `${imagePath}.ocr-${randomUUID()}`;
    const args = [imagePath, outBase, '-l', languages.join('+'), '--psm', String(OCR_PAGE_SEGMENTATION), ...dpiArgs(options.dpi), 'txt', 'tsv'];
    try {
      await this.run(args, imagePath, options.signal);
      const [text, tsv] = await Promise.all([fs.readFile(`${outBase}.txt`, 'utf8'), fs.readFile(`${outBase}.tsv`, 'utf8')]);
      return { text: normalizeOcrText(text), summary: readTesseractTsv(tsv) };
    } finally {
      await Promise.all([fs.rm(`${outBase}.txt`, { force: true }), fs.rm(`${outBase}.tsv`, { force: true })]);
    }
  }

  /** Tesseract's orientation detection: the clockwise turn that makes the page upright, if it is sure of one. */
  private async detectRotation(imagePath: string, options: OcrOptions): Promise<90 | 180 | 270 | undefined> {
    let out: string;
    try {
      out = await this.run([imagePath, '-', '--psm', '0', ...dpiArgs(options.dpi)], imagePath, options.signal);
    } catch (error) {
      if (options.signal?.aborted) throw error;
      // OSD gives up on pages with too few characters: the first reading stands.
      return undefined;
    }
    const rotate = Number(/^Rotate:\s*(\d+)/m.exec(out)?.[1]);
    const confidence = Number(/^Orientation confidence:\s*([\d.]+)/m.exec(out)?.[1]);
    if (!(confidence >= MIN_ORIENTATION_CONFIDENCE)) return undefined;
    return rotate === 90 || rotate === 180 || rotate === 270 ? rotate : undefined;
  }

  /**
   * Runs tesseract (one OpenMP thread) through the launcher (a small helper process: forking from
   * a large worker costs more), resolving with its stdout; a non-zero exit rejects with its stderr.
   */
  private async run(args: string[], imagePath: string, signal: AbortSignal | undefined): Promise<string> {
    signal?.throwIfAborted();
    const either = signal ? AbortSignal.any([signal, this.closing.signal]) : this.closing.signal;
    const outcome = await runLaunched('tesseract', args, {
      timeoutMs: TESSERACT_TIMEOUT_MS,
      captureStdout: true,
      stdoutLimit: 16 * 1024 * 1024,
      env: { ...process.env, OMP_THREAD_LIMIT: '1' },
      niceness: TESSERACT_NICENESS,
      signal: either,
    });
    if (signal?.aborted) throw abortReason(signal);
    if (outcome.aborted) throw abortReason(this.closing.signal);
    if (outcome.spawnError) throw new Error(`tesseract could not be started (${outcome.spawnError.code}); install tesseract-ocr or use the tesseract.js engine.`);
    if (outcome.exitCode === 0) return outcome.stdout;
    const how = outcome.timedOut ? `did not finish within ${TESSERACT_TIMEOUT_MS / 1000} s` : outcome.signal ? `was killed by ${outcome.signal}` : `exited with code ${outcome.exitCode}`;
    throw new Error(`tesseract ${how} on ${imagePath}: ${outcome.stderr.trim().slice(-STDERR_TAIL_CHARS) || 'no error output'}`);
  }
}

/**
 * Tesseract runs at a lower priority. It keeps every core busy, and beside it on the same cores
 * are the worker's event loop (heartbeats, workflow tasks, status queries, the next page's image),
 * the Temporal server and Postgres: each needs little CPU but needs it at once, or queries wait
 * and OCR lanes stand idle between pages. Alone on a machine, tesseract loses nothing by it.
 */
const TESSERACT_NICENESS = 10;

/** A page that takes tesseract this long is pathological; the process is killed. */
const TESSERACT_TIMEOUT_MS = 10 * 60_000;

/** Below this mean word confidence (0-100) a reading is suspect enough to check the page's orientation. */
const SUSPECT_CONFIDENCE = 70;
/** Words whose boxes stand on end: the page is read sideways. */
const SUSPECT_TALL_SHARE = 0.5;
/** Fewer words than this and neither the reading nor OSD says much: the page is taken as it is. */
const MIN_WORDS_FOR_OSD = 3;
/** OSD's own confidence in its answer; below this its answer is a guess. */
const MIN_ORIENTATION_CONFIDENCE = 1.5;

function needsOrientationCheck(summary: TsvSummary): boolean {
  if (summary.words < MIN_WORDS_FOR_OSD) return false;
  return (summary.confidence ?? 0) < SUSPECT_CONFIDENCE || summary.tallShare > SUSPECT_TALL_SHARE;
}

function result(reading: { text: string; summary: TsvSummary }, rotation: number): OcrResult {
  return { text: reading.text, confidence: reading.summary.confidence, words: reading.summary.words, rotation };
}

function dpiArgs(dpi: number | undefined): string[] {
  return dpi && Number.isFinite(dpi) && dpi > 0 ? ['--dpi', String(Math.round(dpi))] : [];
}

let languagesListed: Promise<Set<string>> | undefined;

/** The languages the installed tesseract has data for (`tesseract --list-langs`); asked once per process. */
export function installedLanguages(): Promise<Set<string>> {
  languagesListed ??= new Promise((resolve) => {
    const child = spawn('tesseract', ['--list-langs'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('error', () => resolve(new Set()));
    child.on('close', (exitCode) => resolve(exitCode === 0 ? new Set(out.split('\n').slice(1).map((l) => l.trim()).filter(Boolean)) : new Set()));
  });
  return languagesListed;
}

/** Whether `tesseract` runs and has the English model; asked once per process. */
export async function isNativeTesseractAvailable(): Promise<boolean> {
  return (await installedLanguages()).has('eng');
}
