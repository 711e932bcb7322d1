import path from 'node:path';
import { inject } from 'vitest';
import type { Harness } from './harness.js';
import { saveSite } from '../../src/sites/repository.js';
import { serveDirectory } from '../../src/samples/static-server.js';
import { writeScannedSite } from './scanned-site.js';

export interface ChaosSize {
  size: 'small' | 'full';
  documents: number;
  pagesPerDocument: number;
  workerKills: number;
}

declare module 'vitest' {
  export interface ProvidedContext {
    chaos: ChaosSize;
  }
}

export function chaosSize(): ChaosSize {
  return inject('chaos');
}

/** Registers a scanned site sized for the chaos suite and serves it; every page needs OCR. */
export async function serveChaosSite(harness: Harness, subdomain: string): Promise<{ totalPages: number; close(): Promise<void> }> {
  const size = chaosSize();
  const siteDir = path.join(harness.dataDir, 'site');
  const { totalPages } = await writeScannedSite(siteDir, { documents: size.documents, pagesPerDocument: size.pagesPerDocument });
  const server = await serveDirectory(siteDir);
  await saveSite(harness.db, { subdomain, name: subdomain, fetcher: 'http-index', sourceUrl: `${server.url}/index.html` });
  return { totalPages, close: server.close };
}

export function randomBetween(minMs: number, maxMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, minMs + Math.random() * (maxMs - minMs)));
}
