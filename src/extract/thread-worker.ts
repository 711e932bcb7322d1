import { parentPort } from 'node:worker_threads';
import { extractDocument } from './document.js';
import type { DocumentText } from './threads.js';

/** Runs in a worker thread: extraction is CPU-bound JavaScript that would otherwise block the worker. */
parentPort!.on('message', (request: { id: number; documents: DocumentText[] }) => {
  parentPort!.postMessage({ id: request.id, results: request.documents.map((doc) => extractDocument(doc.pages, { pageNumbers: doc.pageNumbers })) });
});
