import fs from 'node:fs/promises';
import path from 'node:path';
import { makeScannedPdf } from '../../src/samples/pdf-builder.js';
import { documentPath, renderIndexPage, type IndexListing } from '../../src/samples/sample-site.js';
import { serveDirectory } from '../../src/samples/static-server.js';
import { saveSite } from '../../src/sites/repository.js';
import type { Harness } from './harness.js';

/**
 * A site of image-only minutes, so every page goes through rendering and OCR: long enough runs
 * to crash workers in the middle of.
 */
export async function writeScannedSite(outDir: string, shape: { documents: number; pagesPerDocument: number }): Promise<{ totalPages: number }> {
  const listings: IndexListing[] = [];
  for (let d = 0; d < shape.documents; d++) {
    const listing = { kind: 'minutes' as const, meeting: 'City Council', date: `2025-${String(1 + (d % 12)).padStart(2, '0')}-${String(1 + Math.floor(d / 12)).padStart(2, '0')}` };
    const pages = Array.from({ length: shape.pagesPerDocument }, (_, p) => [
      `Regular meeting number ${d + 1}, page ${p + 1}.`,
      'Present: Council Members Ortiz, Chen and Ramirez.',
      `Motion by Council Member Ortiz to approve item ${p + 1}.`,
    ]);
    const relative = documentPath(listing);
    await fs.mkdir(path.dirname(path.join(outDir, relative)), { recursive: true });
    await fs.writeFile(path.join(outDir, relative), await makeScannedPdf(pages, `Meeting ${d + 1}`, 100));
    listings.push({ ...listing, path: relative });
  }
  await fs.writeFile(path.join(outDir, 'index.html'), renderIndexPage('Scanville', listings));
  return { totalPages: shape.documents * shape.pagesPerDocument };
}

/** Writes a scanned site into the harness's data folder, serves it over HTTP and registers it. */
export async function serveScannedSite(
  harness: Harness,
  subdomain: string,
  shape: { documents: number; pagesPerDocument: number },
): Promise<{ totalPages: number; close(): Promise<void> }> {
  const siteDir = path.join(harness.dataDir, 'site');
  const { totalPages } = await writeScannedSite(siteDir, shape);
  const server = await serveDirectory(siteDir);
  await saveSite(harness.db, { subdomain, name: subdomain, fetcher: 'http-index', sourceUrl: `${server.url}/index.html` });
  return { totalPages, close: server.close };
}
