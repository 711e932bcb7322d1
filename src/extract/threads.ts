import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { compiledScript } from '../runtime/compiled-script.js';
import type { PageExtraction } from './index.js';

const workerScript = fileURLToPath(new URL('./thread-worker.ts', import.meta.url));

/** One document's page texts in order, with their page numbers. */
export interface DocumentText {
  pages: string[];
  pageNumbers: number[];
}

interface Pending {
  resolve(results: PageExtraction[][]): void;
  reject(error: Error): void;
}

/**
 * Entity and vote extraction on `size` worker threads: the documents of a batch are spread over
 * them (each document whole on one thread, since votes and names are read per document), so
 * extraction uses every core and the activity's event loop stays free for heartbeats.
 */
export class ExtractionThreads {
  private readonly threads: { worker: Worker; pending: Map<number, Pending> }[] = [];
  private nextId = 0;

  constructor(private readonly size: number) {}

  /** Pages read each on its own (no document around them), in the order given. */
  async extract(texts: string[]): Promise<PageExtraction[]> {
    const results = await this.extractDocuments(texts.map((text) => ({ pages: [text], pageNumbers: [1] })));
    return results.map((pages) => pages[0]!);
  }

  /** Per document, per page, in the order given. */
  async extractDocuments(documents: DocumentText[]): Promise<PageExtraction[][]> {
    this.start();
    // the largest documents first, each to the thread with the fewest pages so far
    const shares = this.threads.map(() => ({ indexes: [] as number[], pages: 0 }));
    const order = documents.map((_, i) => i).sort((a, b) => documents[b]!.pages.length - documents[a]!.pages.length);
    for (const i of order) {
      const share = shares.reduce((min, s) => (s.pages < min.pages ? s : min));
      share.indexes.push(i);
      share.pages += documents[i]!.pages.length;
    }
    const results: PageExtraction[][] = new Array(documents.length);
    await Promise.all(
      this.threads.map((thread, t) => {
        const { indexes } = shares[t]!;
        if (indexes.length === 0) return Promise.resolve();
        const id = this.nextId++;
        return new Promise<PageExtraction[][]>((resolve, reject) => {
          thread.pending.set(id, { resolve, reject });
          thread.worker.postMessage({ id, documents: indexes.map((i) => documents[i]) });
        }).then((parts) => parts.forEach((part, k) => (results[indexes[k]!] = part)));
      }),
    );
    return results;
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.splice(0).map((thread) => thread.worker.terminate()));
  }

  private start(): void {
    if (this.threads.length > 0) return;
    const script = compiledScript(workerScript);
    for (let i = 0; i < this.size; i++) {
      const thread = { worker: new Worker(script), pending: new Map<number, Pending>() };
      thread.worker.on('message', (reply: { id: number; results: PageExtraction[][] }) => {
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
