import { createRequire } from 'node:module';
import path from 'node:path';
import type { Worker as ThreadWorker } from 'node:worker_threads';
import Tesseract from 'tesseract.js';
import { abortReason } from './abort-reason.js';
import type { OcrEngine } from './engine.js';
import { normalizeOcrText } from './normalize-text.js';

/**
 * The English LSTM model shipped in node_modules: tesseract.js otherwise downloads it from a CDN,
 * and this project never touches the network for OCR.
 */
const langPath = path.dirname(createRequire(import.meta.url).resolve('@tesseract.js-data/eng/4.0.0_best_int/eng.traineddata.gz'));

/**
 * OCR with tesseract.js (WebAssembly in a worker thread, so off the caller's event loop), for
 * machines without a native tesseract. One worker per engine and one page at a time per worker;
 * callers wanting parallelism create several engines. PGM is passed as a path and read as-is:
 * tesseract.js hands the bytes to Leptonica, which decodes PNM itself, so no PNG conversion.
 */
export class TesseractJsEngine implements OcrEngine {
  readonly name = 'tesseract.js';
  private worker: Promise<LiveWorker> | undefined;
  /** The tail of the queue of recognize calls: each waits for the one before it. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  /** Starts the worker now, so a broken install fails here rather than on the first page. */
  static async create(): Promise<TesseractJsEngine> {
    const engine = new TesseractJsEngine();
    await engine.liveWorker();
    return engine;
  }

  recognize(pgmPath: string, options: { signal?: AbortSignal } = {}): Promise<string> {
    const result = this.queue.then(() => this.recognizeNow(pgmPath, options.signal));
    this.queue = result.catch(() => {});
    return result;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.discardWorker();
  }

  private async recognizeNow(pgmPath: string, signal: AbortSignal | undefined): Promise<string> {
    if (this.closed) throw new Error('This tesseract.js engine is closed.');
    signal?.throwIfAborted();
    const live = await this.liveWorker();
    return new Promise<string>((resolve, reject) => {
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
      signal?.addEventListener('abort', onAbort, { once: true });
      live.onFailure = (error) => {
        this.worker = undefined;
        settle(() => reject(error));
      };
      live.worker.recognize(pgmPath).then(
        (result) => settle(() => resolve(normalizeOcrText(result.data.text))),
        (error: unknown) => settle(() => reject(asError(error, pgmPath))),
      );
    });
  }

  private liveWorker(): Promise<LiveWorker> {
    if (!this.worker) {
      this.worker = startWorker();
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

async function startWorker(): Promise<LiveWorker> {
  let failStartup: (error: Error) => void = () => {};
  const startupFailed = new Promise<never>((_, reject) => (failStartup = reject));
  // Without an errorHandler tesseract.js rethrows job errors inside its message listener, where
  // nothing can catch them and they crash the process; and a failed model load would otherwise
  // leave createWorker pending forever. Job errors also reject their own promise, which is what
  // recognize relies on, so after startup the handler has nothing left to do.
  const errorHandler = (error: unknown) => failStartup(asError(error, 'the tesseract.js worker'));
  const worker = await Promise.race([
    Tesseract.createWorker('eng', Tesseract.OEM.LSTM_ONLY, { langPath, gzip: true, cacheMethod: 'none', errorHandler }),
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
