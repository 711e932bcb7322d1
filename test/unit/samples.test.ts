import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIndexPage } from '../../src/fetchers/http-index.js';
import { openPdf } from '../../src/pdf/pdfjs.js';
import { writeBadCorpusSite, type BadCorpusDefect, type BadCorpusManifest } from '../../src/samples/bad-corpus.js';
import { writeSampleSite, type SampleSiteManifest } from '../../src/samples/sample-site.js';
import { serveDirectory, type StaticServer } from '../../src/samples/static-server.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'clerk-samples-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** The text layer of every page, as pdf.js reads it. */
async function pageTexts(file: string): Promise<string[]> {
  const doc = await openPdf(fs.readFileSync(file));
  try {
    const texts: string[] = [];
    for (let n = 1; n <= doc.numPages; n++) {
      const content = await (await doc.getPage(n)).getTextContent();
      texts.push(content.items.map((item) => ('str' in item ? item.str : '')).join(' ').trim());
    }
    return texts;
  } finally {
    await doc.destroy();
  }
}

async function openError(file: string): Promise<Error | undefined> {
  try {
    const doc = await openPdf(fs.readFileSync(file));
    await doc.destroy();
    return undefined;
  } catch (error) {
    return error as Error;
  }
}

/** A raw request, so paths like /../x reach the server unnormalised (fetch would resolve them). */
function rawRequest(base: string, method: string, requestPath: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const request = http.request({ host: hostname, port, method, path: requestPath }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks) }));
    });
    request.on('error', reject);
    request.end();
  });
}

describe('the sample site', () => {
  const dir = path.join(root, 'sample');
  let manifest: SampleSiteManifest;

  beforeAll(async () => {
    manifest = await writeSampleSite(dir);
  });

  it('has several agendas and minutes, about a dozen pages, and a manifest that adds up', async () => {
    expect(manifest.subdomain).toBe('alameda.ca');
    expect(manifest.documents.length).toBeGreaterThanOrEqual(4);
    expect(new Set(manifest.documents.map((d) => d.kind))).toEqual(new Set(['minutes', 'agenda']));
    expect(manifest.totalPages).toBeGreaterThanOrEqual(10);
    expect(manifest.totalPages).toBeLessThanOrEqual(12);
    expect(manifest.totalPages).toBe(manifest.documents.reduce((sum, d) => sum + d.pageCount, 0));
    for (const document of manifest.documents) {
      const doc = await openPdf(fs.readFileSync(path.join(dir, document.path)));
      expect(doc.numPages, document.path).toBe(document.pageCount);
      await doc.destroy();
    }
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'))).toEqual(manifest);
  });

  it('has exactly one scanned document: two minutes pages with no text layer at all', async () => {
    const scanned = manifest.documents.filter((d) => d.scanned);
    expect(scanned).toHaveLength(1);
    expect(scanned[0]).toMatchObject({ kind: 'minutes', pageCount: 2 });
    expect(manifest.scannedPages).toBe(2);
    expect(await pageTexts(path.join(dir, scanned[0]!.path))).toEqual(['', '']);
  });

  it('prints the OCR-only word in no text layer and nowhere on the index page', async () => {
    const word = manifest.ocrOnlyWord.toLowerCase();
    expect(word).toMatch(/^[a-z]{5,}$/);
    expect(fs.readFileSync(path.join(dir, manifest.indexPath), 'utf8').toLowerCase()).not.toContain(word);
    for (const document of manifest.documents.filter((d) => !d.scanned)) {
      const texts = await pageTexts(path.join(dir, document.path));
      for (const text of texts) {
        expect(text.length, `${document.path} has a real text layer on every page`).toBeGreaterThan(200);
        expect(text.toLowerCase()).not.toContain(word);
      }
    }
  });

  it('reads like council minutes: roll call, motions, votes, organizations', async () => {
    const all = (await Promise.all(manifest.documents.filter((d) => !d.scanned).map((d) => pageTexts(path.join(dir, d.path))))).flat().join('\n');
    for (const phrase of ['Present: Council Members Ortiz, Chen, Ramirez', 'seconded by Vice Mayor Daysog', 'carried 4-1', 'Sierra Club', 'Alameda Unified School District', 'Bay Area Rapid Transit', 'Resolution No.', '$1,245,000', 'Park Street']) {
      expect(all).toContain(phrase);
    }
  });

  it('lists every document on the index page in the format the fetcher reads, among links it must ignore', () => {
    const html = fs.readFileSync(path.join(dir, manifest.indexPath), 'utf8');
    expect(html).toContain('<a class="document" href="minutes/CityCouncil/2026-01-05.pdf" data-kind="minutes" data-meeting="City Council" data-date="2026-01-05">City Council minutes, January 5, 2026</a>');
    expect(html).toContain('mailto:');
    const base = new URL('http://127.0.0.1:1/index.html');
    const { documents, rejected } = parseIndexPage(html, base);
    expect(rejected).toEqual([]);
    expect(documents.map((d) => ({ kind: d.kind, meeting: d.meeting, date: d.date, url: d.url }))).toEqual(
      manifest.documents.map((d) => ({ kind: d.kind, meeting: d.meeting, date: d.date, url: new URL(d.path, base).href })),
    );
  });

  it('writes the same bytes every time', async () => {
    const again = path.join(root, 'sample-again');
    await writeSampleSite(again);
    for (const file of ['index.html', 'manifest.json', ...manifest.documents.map((d) => d.path)]) {
      expect(fs.readFileSync(path.join(again, file)).equals(fs.readFileSync(path.join(dir, file))), file).toBe(true);
    }
  });
});

describe('serveDirectory', () => {
  const dir = path.join(root, 'served');
  let server: StaticServer;

  beforeAll(async () => {
    fs.mkdirSync(path.join(dir, 'minutes'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'index.html'), '<a href="minutes/a.pdf">a</a>');
    fs.writeFileSync(path.join(dir, 'minutes', 'a.pdf'), '%PDF-1.7 not really');
    fs.writeFileSync(path.join(root, 'secret.txt'), 'outside the served folder');
    server = await serveDirectory(dir, { redirects: { '/moved.pdf': 'http://elsewhere.example/moved.pdf' } });
  });
  afterAll(() => server?.close());

  it('binds 127.0.0.1 on a free port', () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(server.port).toBeGreaterThan(0);
  });

  it('serves the index and PDFs with their content types', async () => {
    const index = await fetch(`${server.url}/index.html`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await index.text()).toContain('minutes/a.pdf');
    const pdf = await fetch(`${server.url}/minutes/a.pdf`);
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    expect(await pdf.text()).toBe('%PDF-1.7 not really');
    expect((await fetch(`${server.url}/`)).status).toBe(200);
  });

  it('answers a conditional request for an unmodified file with 304 and no body, and a stale one with the file', async () => {
    const first = await fetch(`${server.url}/minutes/a.pdf`);
    const lastModified = first.headers.get('last-modified')!;
    const again = await fetch(`${server.url}/minutes/a.pdf`, { headers: { 'If-Modified-Since': lastModified } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    const stale = await fetch(`${server.url}/minutes/a.pdf`, { headers: { 'If-Modified-Since': new Date(Date.parse(lastModified) - 60_000).toUTCString() } });
    expect(stale.status).toBe(200);
    expect(await stale.text()).toBe('%PDF-1.7 not really');
  });

  it('answers HEAD with the length and no body', async () => {
    const head = await rawRequest(server.url, 'HEAD', '/minutes/a.pdf');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String('%PDF-1.7 not really'.length));
    expect(head.body.length).toBe(0);
  });

  it('404s what is missing and refuses to climb out of its folder', async () => {
    expect((await fetch(`${server.url}/minutes/missing.pdf`)).status).toBe(404);
    for (const attempt of ['/../secret.txt', '/minutes/../../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/minutes/..%5c..%5csecret.txt']) {
      const response = await rawRequest(server.url, 'GET', attempt);
      expect(response.status, attempt).toBe(403);
      expect(response.body.toString()).not.toContain('outside the served folder');
    }
  });

  it('answers configured paths with a 302 to another host, for redirect tests', async () => {
    const response = await fetch(`${server.url}/moved.pdf`, { redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('http://elsewhere.example/moved.pdf');
  });

  it('rejects other methods', async () => {
    expect((await rawRequest(server.url, 'POST', '/index.html')).status).toBe(405);
  });
});

describe('the bad corpus', () => {
  const dir = path.join(root, 'bad');
  let manifest: BadCorpusManifest;
  const file = (defect: BadCorpusDefect): string => path.join(dir, manifest.documents.find((d) => d.defect === defect)!.path);

  beforeAll(async () => {
    manifest = await writeBadCorpusSite(dir, { largePageCount: 40 });
  });

  it('lists every document on an index page the fetcher accepts, with expectations', () => {
    const html = fs.readFileSync(path.join(dir, manifest.indexPath), 'utf8');
    const { documents, rejected } = parseIndexPage(html, new URL('http://127.0.0.1:1/index.html'));
    expect(rejected).toEqual([]);
    expect(documents).toHaveLength(manifest.documents.length);
    for (const document of manifest.documents) {
      expect(fs.existsSync(path.join(dir, document.path)), document.path).toBe(true);
      if (document.expected === 'failed') expect(document.expectedReason).toBeDefined();
      else expect(document.expectedReason).toBeUndefined();
    }
    expect(new Set(manifest.documents.map((d) => d.defect))).toEqual(
      new Set(['none', 'corrupt-bytes', 'truncated', 'encrypted', 'zero-bytes', 'html-as-pdf', 'zero-pages', 'many-pages', 'huge-image', 'giant-page', 'duplicate', 'latin1-metadata']),
    );
    expect(manifest.okPages).toBe(manifest.documents.filter((d) => d.expected === 'ok').reduce((sum, d) => sum + d.pageCount, 0));
    expect(manifest.failedPages).toBe(1);
  });

  it('opens every document expected to be ok, with the advertised page count', async () => {
    for (const document of manifest.documents.filter((d) => d.expected === 'ok')) {
      const doc = await openPdf(fs.readFileSync(path.join(dir, document.path)));
      expect(doc.numPages, document.path).toBe(document.pageCount);
      await doc.destroy();
    }
    expect(manifest.documents.find((d) => d.defect === 'many-pages')!.pageCount).toBe(40);
  });

  it('has garbage and a truncated PDF that pdf.js cannot parse', async () => {
    expect(fs.readFileSync(file('corrupt-bytes')).subarray(0, 8).toString('latin1')).toBe('%PDF-1.7');
    expect((await openError(file('corrupt-bytes')))?.name).toBe('InvalidPDFException');
    expect(fs.readFileSync(file('truncated')).subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect((await openError(file('truncated')))?.name).toBe('InvalidPDFException');
  });

  it('has an encrypted PDF that makes pdf.js ask for a password', async () => {
    expect(fs.readFileSync(file('encrypted')).toString('latin1')).toMatch(/trailer\s*<<[^>]*\/Encrypt 5 0 R/);
    const error = await openError(file('encrypted'));
    expect(error?.name).toBe('PasswordException');
    expect((error as Error & { code?: number }).code).toBe(1); // PasswordResponses.NEED_PASSWORD
  });

  it('has an empty file, an HTML page and a PDF with no pages', async () => {
    expect(fs.statSync(file('zero-bytes')).size).toBe(0);
    expect((await openError(file('zero-bytes')))?.name).toBe('InvalidPDFException');
    expect(fs.readFileSync(file('html-as-pdf'), 'utf8')).toMatch(/^<!DOCTYPE html>/i);
    expect((await openError(file('html-as-pdf')))?.name).toBe('InvalidPDFException');
    // pdf.js opens a page-less PDF without complaint and reports numPages 0: "empty" is the caller's call.
    const empty = await openPdf(fs.readFileSync(file('zero-pages')));
    expect(empty.numPages).toBe(0);
    await empty.destroy();
  });

  it('has two listings of the same bytes under different meetings and dates', () => {
    const duplicates = manifest.documents.filter((d) => d.defect === 'duplicate');
    expect(duplicates).toHaveLength(2);
    expect(duplicates[0]!.path).not.toBe(duplicates[1]!.path);
    expect(`${duplicates[0]!.meeting}/${duplicates[0]!.date}`).not.toBe(`${duplicates[1]!.meeting}/${duplicates[1]!.date}`);
    expect(fs.readFileSync(path.join(dir, duplicates[0]!.path)).equals(fs.readFileSync(path.join(dir, duplicates[1]!.path)))).toBe(true);
  });

  it('has a blank page of 200 x 200 inches between two letter pages of text', async () => {
    const doc = await openPdf(fs.readFileSync(file('giant-page')));
    const sizes = [];
    for (let page = 1; page <= doc.numPages; page++) {
      const { width, height } = (await doc.getPage(page)).getViewport({ scale: 1 });
      sizes.push([width, height]);
    }
    await doc.destroy();
    expect(sizes).toEqual([
      [612, 792],
      [14_400, 14_400],
      [612, 792],
    ]);
    expect((await pageTexts(file('giant-page'))).map((text) => text.length > 0)).toEqual([true, false, true]);
  });

  it('has a huge image-only page and metadata that is not UTF-8', async () => {
    const huge = fs.readFileSync(file('huge-image')).toString('latin1');
    expect(huge).toMatch(/\/Width 6000/);
    expect(huge).toMatch(/\/Height 6000/);
    expect(await pageTexts(file('huge-image'))).toEqual(['']);

    const raw = fs.readFileSync(file('latin1-metadata'));
    const title = /\/Title \(([^)]*)\)/.exec(raw.toString('latin1'));
    expect(title).not.toBeNull();
    const titleBytes = Buffer.from(title![1]!, 'latin1');
    expect(titleBytes.includes(0xe9)).toBe(true);
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(titleBytes)).toThrow();
    const doc = await openPdf(raw);
    const { info } = (await doc.getMetadata()) as { info: { Title?: string } };
    expect(info.Title).toContain('R\u00e9union');
    await doc.destroy();
  });
});
