import { inject } from 'vitest';
import type { Harness } from './harness.js';
import { serveScannedSite } from './scanned-site.js';

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
export function serveChaosSite(harness: Harness, subdomain: string): Promise<{ totalPages: number; close(): Promise<void> }> {
  const size = chaosSize();
  return serveScannedSite(harness, subdomain, { documents: size.documents, pagesPerDocument: size.pagesPerDocument });
}

export function randomBetween(minMs: number, maxMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, minMs + Math.random() * (maxMs - minMs)));
}
