import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOcrEngine, type OcrEngine } from '../../src/ocr/engine.js';
import { renderPageToPgm } from '../../src/pdf/render.js';
import { makeScannedPdf } from '../../src/samples/pdf-builder.js';

const hasNativeTesseract = spawnSync('tesseract', ['--version']).status === 0;

const firstPage = ['The City Council met in regular session on Tuesday evening.', 'Councilmember Ortiz moved to fund the QUETZAL aviary.', 'The motion carried five to two.'];
const secondPage = ['Public comment was received from three residents.', 'The PANGOLIN crossing study was continued to May.'];

let dir: string;
let firstPgm: string;
let secondPgm: string;

beforeAll(async () => {
  dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'clerk-ocr-test-'));
  const pdfPath = path.join(dir, 'scanned.pdf');
  await fs.promises.writeFile(pdfPath, await makeScannedPdf([firstPage, secondPage]));
  firstPgm = path.join(dir, 'page-1.pgm');
  secondPgm = path.join(dir, 'page-2.pgm');
  await renderPageToPgm(pdfPath, 1, { dpi: 200, timeoutMs: 60_000, outPath: firstPgm });
  await renderPageToPgm(pdfPath, 2, { dpi: 200, timeoutMs: 60_000, outPath: secondPgm });
});

afterAll(async () => {
  await fs.promises.rm(dir, { recursive: true, force: true });
});

describe.each([
  { kind: 'tesseract' as const, skip: !hasNativeTesseract },
  { kind: 'tesseract.js' as const, skip: false },
])('the $kind OCR engine', ({ kind, skip }) => {
  let engine: OcrEngine;

  beforeAll(async () => {
    if (!skip) engine = await createOcrEngine(kind);
  });

  afterAll(async () => {
    await engine?.close();
  });

  it.skipIf(skip)('reads the words of a scanned page', async () => {
    const text = await engine.recognize(firstPgm);

    expect(engine.name).toBe(kind);
    expect(text).toContain('QUETZAL');
    expect(text).toMatch(/City Council/);
    expect(text.split('\n')).toHaveLength(firstPage.length);
  });

  it.skipIf(skip)('answers overlapping calls, each with its own page', async () => {
    const [first, second] = await Promise.all([engine.recognize(firstPgm), engine.recognize(secondPgm)]);

    expect(first).toContain('QUETZAL');
    expect(second).toContain('PANGOLIN');
  });

  it.skipIf(skip)('stops when its signal aborts, rejects with the reason, and still works afterwards', async () => {
    const controller = new AbortController();
    const reading = engine.recognize(firstPgm, { signal: controller.signal });
    const reason = new Error('activity cancelled');
    // Long enough for the engine to be busy with the page, far shorter than reading it takes.
    setTimeout(() => controller.abort(reason), 20);

    await expect(reading).rejects.toBe(reason);
    expect(await engine.recognize(secondPgm)).toContain('PANGOLIN');
  });

  it.skipIf(skip)('does not start work for a signal that has already aborted', async () => {
    const reason = new Error('too late');

    await expect(engine.recognize(firstPgm, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });

  it.skipIf(skip)('rejects a file that is not an image with an Error that says why', async () => {
    const notAnImage = path.join(dir, 'not-an-image.pgm');
    await fs.promises.writeFile(notAnImage, 'this is not a picture');

    await expect(engine.recognize(notAnImage)).rejects.toThrow(/tesseract/);
  });
});

describe('createOcrEngine', () => {
  it("picks the native engine for 'auto' when tesseract is installed, else tesseract.js", async () => {
    const engine = await createOcrEngine('auto');
    try {
      expect(engine.name).toBe(hasNativeTesseract ? 'tesseract' : 'tesseract.js');
    } finally {
      await engine.close();
    }
  });
});
