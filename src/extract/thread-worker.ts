import { parentPort } from 'node:worker_threads';
import { extractPage } from './index.js';

/** Runs in a worker thread: extraction is CPU-bound JavaScript that would otherwise block the worker. */
parentPort!.on('message', (request: { id: number; texts: string[] }) => {
  parentPort!.postMessage({ id: request.id, results: request.texts.map((text) => extractPage(text)) });
});
