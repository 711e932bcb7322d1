import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { Worker as ThreadWorker } from 'node:worker_threads';
import Tesseract from 'tesseract.js';
import { abortReason } from './abort-reason.js';
import type { OcrEngine, OcrOptions, OcrResult } from './engine.js';
import { missingLanguageError, OCR_PAGE_SEGMENTATION, resolveLanguages } from './languages.js';
import { normalizeOcrText } from './normalize-text.js';
import { readTesseractTsv } from './tsv.js';

const require = createRequire(import.meta.url);

/**
 * The LSTM model of a language, shipped on npm as @tesseract.js-data/<lang>: tesseract.js otherwise
 * downloads models from a CDN, and this project never touches the network for OCR. Undefined when
 * the package is not installed (or does not exist: there is none for Spanish).
 */
function modelFile(lang: string): string | undefined {
  try {
    return require.resolve(`@tesseract.js-data/${lang}/4.0.0_best_int/${lang}.traineddata.gz`);
  } catch {
    return undefined;
  }
}

/**
 * tesseract.js reads every language of a worker from one folder (`langPath`), and each npm package
 * has its own: a folder under the temp directory links the models a language set needs.
 */
function langPathFor(languages: string[]): string {
  const files = languages.map((lang) => [lang, modelFile(lang)] as const);
  const missing = files.filter(([, file]) => !file).map(([lang]) => lang);
  if (missing.length > 0) throw missingLanguageError(missing, 'tesseract.js');
  if (languages.length === 1) return path.dirname(files[0]![1]!);
  const key = createHash('sha256').update(files.map(([, file]) => file).join('\n')).digest('hex').slice(0, 16);
  const dir = path.join(os.tmpdir(), `clerk-tesseract.js-data-${key}`);
  fs.mkdirSync(dir, { recursive: true });
  for (const [lang, file] of files) {
    const link = path.join(dir, `${lang}.traineddata.gz`);
    if (!fs.existsSync(link)) fs.symlinkSync(file!, link);
  }
  return dir;
}

/**
 * OCR with tesseract.js (WebAssembly in a worker thread, so off the caller's event loop), for
 * machines without a native tesseract. One worker per engine and one page at a time per worker;
 * callers wanting parallelism create several engines. PGM is passed as a path and read as-is:
 * tesseract.js hands the bytes to Leptonica, which decodes PNM itself, so no PNG conversion.
 */
export class TesseractJsEngine implements OcrEngine {
  readonly name = 'tesseract.js';
  private worker: Promise<LiveWorker> | undefined;
  /** The languages the live worker was started with ('eng+fra'). */
  private workerLanguages = '';
  /** The tail of the queue of recognize calls: each waits for the one before it. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  /** Starts the worker now, so a broken install fails here rather than on the first page. */
  static async create(): Promise<TesseractJsEngine> {
    const engine = new TesseractJsEngine();
    await engine.liveWorker();
    return engine;
  }

  recognize(pgmPath: string, options: OcrOptions = {}): Promise<OcrResult> {
    const result = this.queue.then(() => this.recognizeNow(pgmPath, options));
    this.queue = result.catch(() => {});
    return result;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.discardWorker();
  }

  private async recognizeNow(pgmPath: string, options: OcrOptions): Promise<OcrResult> {
    const { signal } = options;
    if (this.closed) throw new Error('This tesseract.js engine is closed.');
    signal?.throwIfAborted();
    const languages = resolveLanguages(options.languages);
    const live = await this.liveWorker(languages);
    return new Promise<OcrResult>((resolve, reject) => {
      const settle = (finish: () => void) => {
        signal?.removeEventListener('abort', onAbort);
        live.onFailure = undefined;
        finish();
      };
      // A recognize call cannot be cancelled inside the worker: the whole worker goes, and the
      // next call starts a fresh one.
      const onAbort = () => {
        void this.discardWorker();
        settle(() => reject(abortReason(signal!)));
      };
      if (signal?.aborted) return reject(abortReason(signal));
      signal?.addEventListener('abort', onAbort, { once: true });
      live.onFailure = (error) => {
        this.worker = undefined;
        settle(() => reject(error));
      };
      const parameters = {
        tessedit_pageseg_mode: String(OCR_PAGE_SEGMENTATION) as Tesseract.PSM,
        user_defined_dpi: options.dpi ? String(Math.round(options.dpi)) : '0',
      };
      live.worker.setParameters(parameters).then(() => live.worker.recognize(pgmPath, {}, { text: true, tsv: true })).then(
        (result) => {
          const summary = readTesseractTsv(result.data.tsv ?? '');
          // No orientation detection here: tesseract.js's needs the legacy OSD model.
          settle(() => resolve({ text: normalizeOcrText(result.data.text), confidence: summary.confidence, words: summary.words, rotation: null }));
        },
        (error: unknown) => settle(() => reject(asError(error, pgmPath))),
      );
    });
  }

  private async liveWorker(languages: string[] = ['eng']): Promise<LiveWorker> {
    const wanted = languages.join('+');
    // Resolved first: a language without a model fails here and leaves the live worker alone.
    const langPath = langPathFor(languages);
    if (this.worker && this.workerLanguages !== wanted) await this.discardWorker();
    if (!this.worker) {
      this.workerLanguages = wanted;
      this.worker = startWorker(languages, langPath);
      // A worker that failed to start is not kept: the next call tries again.
      this.worker.catch(() => (this.worker = undefined));
    }
    return this.worker;
  }

  private async discardWorker(): Promise<void> {
    const starting = this.worker;
    this.worker = undefined;
    const live = await starting?.catch(() => undefined);
    await live?.worker.terminate();
  }
}

interface LiveWorker {
  worker: Tesseract.Worker;
  /** Set while a call is in flight: told when the worker thread dies under it. */
  onFailure: ((error: Error) => void) | undefined;
}

async function startWorker(languages: string[], langPath: string): Promise<LiveWorker> {
  let failStartup: (error: Error) => void = () => {};
  const startupFailed = new Promise<never>((_, reject) => (failStartup = reject));
  // Without an errorHandler tesseract.js rethrows job errors inside its message listener, where
  // nothing can catch them and they crash the process; and a failed model load would otherwise
  // leave createWorker pending forever. Job errors also reject their own promise, which is what
  // recognize relies on, so after startup the handler has nothing left to do.
  const errorHandler = (error: unknown) => failStartup(asError(error, 'the tesseract.js worker'));
  const worker = await Promise.race([
    Tesseract.createWorker(languages, Tesseract.OEM.LSTM_ONLY, { langPath, gzip: true, cacheMethod: 'none', errorHandler }),
    startupFailed,
  ]);
  const live: LiveWorker = { worker, onFailure: undefined };
  watchThread(live);
  return live;
}

/**
 * tesseract.js leaves a dead worker thread's jobs pending forever, and an 'error' event with no
 * listener would crash this process. Its node build keeps the thread on `worker.worker`, which
 * is not in its types: listen there and fail the call in flight instead.
 */
function watchThread(live: LiveWorker): void {
  const thread = (live.worker as unknown as { worker?: ThreadWorker }).worker;
  const fail = (error: Error) => live.onFailure?.(error);
  thread?.on('error', (error) => fail(new Error(`The tesseract.js worker thread failed: ${error.message}`, { cause: error })));
  thread?.on('exit', (code) => fail(new Error(`The tesseract.js worker thread exited with code ${code}.`)));
}

/** tesseract.js rejects with bare strings; callers deserve Errors. */
function asError(error: unknown, subject: string): Error {
  return error instanceof Error ? error : new Error(`tesseract.js failed on ${subject}: ${String(error)}`);
}
