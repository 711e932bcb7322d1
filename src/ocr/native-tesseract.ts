import { spawn } from 'node:child_process';
import { abortReason } from './abort-reason.js';
import type { OcrEngine } from './engine.js';
import { normalizeOcrText } from './normalize-text.js';

const STDERR_TAIL_CHARS = 4000;

/**
 * OCR with the system's `tesseract` binary, one process per page. Each process is held to one
 * thread: callers get parallelism by running several engines, and OpenMP's default of one thread
 * per core in every process would oversubscribe the machine and run slower overall.
 */
export class NativeTesseractEngine implements OcrEngine {
  readonly name = 'tesseract';
  private readonly running = new Set<ReturnType<typeof spawn>>();

  recognize(pgmPath: string, options: { signal?: AbortSignal } = {}): Promise<string> {
    const { signal } = options;
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      const child = spawn('tesseract', [pgmPath, 'stdout', '-l', 'eng'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, OMP_THREAD_LIMIT: '1' },
      });
      this.running.add(child);
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS)));
      const onAbort = () => {
        child.kill('SIGKILL');
        reject(abortReason(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => {
        signal?.removeEventListener('abort', onAbort);
        this.running.delete(child);
      };
      child.on('error', (error) => {
        done();
        reject(new Error(`tesseract could not be started (${(error as NodeJS.ErrnoException).code}); install tesseract-ocr or use the tesseract.js engine.`));
      });
      child.on('close', (exitCode, exitSignal) => {
        done();
        if (exitCode === 0) return resolve(normalizeOcrText(stdout));
        const how = exitSignal ? `was killed by ${exitSignal}` : `exited with code ${exitCode}`;
        reject(new Error(`tesseract ${how} on ${pgmPath}: ${stderr.trim() || 'no error output'}`));
      });
    });
  }

  async close(): Promise<void> {
    for (const child of this.running) child.kill('SIGKILL');
  }
}

/** Whether `tesseract` runs and has the English model; asked once per process. */
let available: Promise<boolean> | undefined;
export function isNativeTesseractAvailable(): Promise<boolean> {
  available ??= new Promise((resolve) => {
    // --list-langs proves the binary runs (like --version) and also that `eng` is installed.
    const child = spawn('tesseract', ['--list-langs'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('error', () => resolve(false));
    child.on('close', (exitCode) => resolve(exitCode === 0 && /^eng$/m.test(out)));
  });
  return available;
}
