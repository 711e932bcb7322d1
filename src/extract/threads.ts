import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { compiledScript } from '../runtime/compiled-script.js';
import type { PageExtraction } from './index.js';

const workerScript = fileURLToPath(new URL('./thread-worker.ts', import.meta.url));

interface Pending {
  resolve(results: PageExtraction[]): void;
  reject(error: Error): void;
}

/**
 * Entity and vote extraction on `size` worker threads: the pages of a batch are spread over them,
 * so extraction uses every core and the activity's event loop stays free for heartbeats.
 */
export class ExtractionThreads {
  private readonly threads: { worker: Worker; pending: Map<number, Pending> }[] = [];
  private nextId = 0;

  constructor(private readonly size: number) {}

  async extract(texts: string[]): Promise<PageExtraction[]> {
    this.start();
    const share = Math.ceil(texts.length / this.threads.length);
    const parts = await Promise.all(
      this.threads.map((thread, i) => {
        const slice = texts.slice(i * share, (i + 1) * share);
        if (slice.length === 0) return Promise.resolve([]);
        const id = this.nextId++;
        return new Promise<PageExtraction[]>((resolve, reject) => {
          thread.pending.set(id, { resolve, reject });
          thread.worker.postMessage({ id, texts: slice });
        });
      }),
    );
    return parts.flat();
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.splice(0).map((thread) => thread.worker.terminate()));
  }

  private start(): void {
    if (this.threads.length > 0) return;
    const script = compiledScript(workerScript);
    for (let i = 0; i < this.size; i++) {
      const thread = { worker: new Worker(script), pending: new Map<number, Pending>() };
      thread.worker.on('message', (reply: { id: number; results: PageExtraction[] }) => {
        thread.pending.get(reply.id)?.resolve(reply.results);
        thread.pending.delete(reply.id);
      });
      // A thread that dies fails what it held; the pool starts fresh threads on the next batch.
      thread.worker.on('error', (error) => this.fail(thread, error));
      thread.worker.on('exit', (code) => this.fail(thread, new Error(`extraction thread exited with code ${code}`)));
      this.threads.push(thread);
    }
  }

  private fail(thread: (typeof this.threads)[number], error: Error): void {
    for (const pending of thread.pending.values()) pending.reject(error);
    thread.pending.clear();
    const index = this.threads.indexOf(thread);
    if (index >= 0) {
      this.threads.splice(index, 1);
      if (this.threads.length === 0) return;
      // Keep the pool whole or empty: a partial pool would still work, but unevenly.
      void this.close();
    }
  }
}
