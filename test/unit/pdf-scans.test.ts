import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCanvas } from '@napi-rs/canvas';
import { PDFDocument } from 'pdf-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePgm } from '../../src/ocr/page-image.js';
import { planPageImage } from '../../src/ocr/resolution.js';
import { PermanentPdfError } from '../../src/pdf/errors.js';
import { launchDirectly, runLaunched } from '../../src/pdf/launcher.js';
import { extractScanToPgm, pnmToGray, readPnmAsGray } from '../../src/pdf/scan-image.js';
import { readTextLayer } from '../../src/pdf/text-layer.js';

const hasPoppler = spawnSync('pdfimages', ['-v']).status === 0;
const generous = { timeoutMs: 60_000 };

let dir: string;
const file = (name: string) => path.join(dir, name);

/** A gray test card: a gradient with a dark bar, so pixels can be compared exactly. */
function testCard(width: number, height: number): { png: Buffer; luma: (x: number, y: number) => number } {
  const canvas = createCanvas(width, height);
  const context = canvas.getContext('2d');
  const image = context.createImageData(width, height);
  const luma = (x: number, y: number) => (y > height / 2 && y < height / 2 + 20 ? 10 : 80 + ((x + y) % 160));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      image.data[i] = image.data[i + 1] = image.data[i + 2] = luma(x, y);
      image.data[i + 3] = 255;
    }
  }
  context.putImageData(image, 0, 0);
  return { png: canvas.toBuffer('image/png'), luma };
}

let card: ReturnType<typeof testCard>;

beforeAll(async () => {
  dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'clerk-pdf-scans-test-'));
  card = testCard(816, 1056); // 8.5 x 11 inches at 96 ppi... drawn on a page of 3.4 x 4.4 inches: 240 ppi
  const pdf = await PDFDocument.create();
  const image = await pdf.embedPng(card.png);
  // 1: a full-page scan at 240 ppi.
  pdf.addPage([(816 / 240) * 72, (1056 / 240) * 72]).drawImage(image, { x: 0, y: 0, width: (816 / 240) * 72, height: (1056 / 240) * 72 });
  // 2: a letter page with a small picture (a seal): not a scan.
  pdf.addPage([612, 792]).drawImage(image, { x: 400, y: 600, width: 100, height: 130 });
  // 3: an empty vector page.
  pdf.addPage([612, 792]);
  // 4: a one-inch page holding the whole card: 1,056 ppi, finer than any scan OCR needs.
  pdf.addPage([72, 72]).drawImage(image, { x: 0, y: 0, width: 72, height: 72 });
  await fs.promises.writeFile(file('scans.pdf'), await pdf.save());
});

afterAll(async () => {
  await fs.promises.rm(dir, { recursive: true, force: true });
});

describe.skipIf(!hasPoppler)('finding scans in the text-layer pass', () => {
  it('marks a page that is one full-page image as a scan, with its resolution, and no other page', async () => {
    const layer = await readTextLayer(file('scans.pdf'), { ...generous, reader: 'poppler' });

    expect(layer.pages.map((p) => [p.page, p.usable, p.scan?.ppi ?? null])).toEqual([
      [1, false, 240],
      [2, false, null],
      [3, false, null],
      [4, false, 1056],
    ]);
    expect(layer.pages[0]!.scan).toEqual({ ppi: 240, widthPx: 816, heightPx: 1056 });
    expect(layer.pages[0]!.size!.width).toBeCloseTo(244.8, 1);
  });
});

describe.skipIf(!hasPoppler)('extractScanToPgm', () => {
  it("writes the scan's own pixels as a grayscale PGM, unresampled", async () => {
    const outPath = file('scan-1.pgm');
    const returned = await extractScanToPgm(file('scans.pdf'), 1, { timeoutMs: 60_000, outPath });

    const image = parsePgm(await fs.promises.readFile(outPath));
    // The image handed back is the one written, so the caller need not read it again.
    expect(returned).toEqual(image);
    expect([image.width, image.height]).toEqual([816, 1056]);
    for (const [x, y] of [[0, 0], [400, 300], [815, 1055], [100, 540]] as const) {
      expect(Math.abs(image.pixels[y * 816 + x]! - card.luma(x, y))).toBeLessThanOrEqual(1);
    }
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('scan-1.pgm.'))).toEqual([]);
  });

  it('fails the page as renderer-crashed when pdfimages crashes, and leaves nothing behind', async () => {
    const binDir = file('crashing-bin');
    fs.mkdirSync(binDir, { recursive: true });
    fs.writeFileSync(path.join(binDir, 'pdfimages'), '#!/bin/sh\nkill -SEGV $$\n', { mode: 0o755 });
    const savedPath = process.env.PATH;
    // Direct spawning sees this process's PATH; the launcher keeps the PATH it started with.
    process.env.PATH = `${binDir}:${savedPath ?? ''}`;
    launchDirectly(true);
    try {
      const outPath = file('crash.pgm');
      const extraction = extractScanToPgm(file('scans.pdf'), 1, { timeoutMs: 60_000, outPath });
      await expect(extraction).rejects.toBeInstanceOf(PermanentPdfError);
      await expect(extraction).rejects.toMatchObject({ reason: 'renderer-crashed', message: expect.stringContaining('SIGSEGV') });
      expect(fs.readdirSync(dir).filter((f) => f.startsWith('crash.pgm'))).toEqual([]);
    } finally {
      process.env.PATH = savedPath;
      launchDirectly(false);
    }
  });
});

describe('planPageImage', () => {
  const letter = { width: 612, height: 792 };
  const options = { defaultDpi: 300, maxScanDpi: 600, maxPixels: 80_000_000, extractScans: true };

  it('takes a scan out as it is, at its own resolution', () => {
    expect(planPageImage({ scanPpi: 240, size: letter }, options)).toEqual({ source: 'scan', dpi: 240 });
  });

  it('renders pages that are not scans at the default dpi', () => {
    expect(planPageImage({ scanPpi: null, size: letter }, options)).toEqual({ source: 'render', dpi: 300 });
  });

  it('renders an enormous scan (30,000 pixels square on a letter page) at most at the highest scan dpi, never taking it out whole', () => {
    expect(planPageImage({ scanPpi: 30_000 / 8.5, size: letter }, options)).toEqual({ source: 'render', dpi: 600 });
    expect(planPageImage({ scanPpi: 400, size: letter }, { ...options, maxPixels: 10_000_000 })).toEqual({ source: 'render', dpi: 400 });
  });

  it('renders every page when a renderer was chosen explicitly', () => {
    expect(planPageImage({ scanPpi: 240, size: letter }, { ...options, extractScans: false })).toEqual({ source: 'render', dpi: 240 });
  });
});

describe('pnmToGray', () => {
  it('turns colour into luma and a bitmap into black and white', () => {
    const ppm = Buffer.concat([Buffer.from('P6\n2 1\n255\n'), Buffer.from([255, 255, 255, 255, 0, 0])]);
    expect([...parsePgm(pnmToGray(ppm)!).pixels]).toEqual([255, 76]);
    const pbm = Buffer.concat([Buffer.from('P4\n# made by hand\n10 1\n'), Buffer.from([0b10100000, 0b01000000])]);
    expect([...parsePgm(pnmToGray(pbm)!).pixels]).toEqual([0, 255, 0, 255, 255, 255, 255, 255, 255, 0]);
    expect(pnmToGray(Buffer.from('P3\n1 1\n255\n0 0 0\n'))).toBeUndefined();
  });

  it('reads a file a few rows at a time to the same image as reading it whole, of every kind', async () => {
    // 1,500 x 300 colour pixels: 1.35 MB, so the rows arrive in several reads.
    const width = 1500;
    const height = 300;
    const rgb = Buffer.alloc(width * height * 3);
    for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 7919) % 251;
    const bits = Buffer.alloc(Math.ceil(width / 8) * height);
    for (let i = 0; i < bits.length; i++) bits[i] = (i * 31) % 256;
    const images = {
      ppm: Buffer.concat([Buffer.from(`P6\n${width} ${height}\n255\n`), rgb]),
      pgm: Buffer.concat([Buffer.from(`P5\n# gray\n${width} ${height}\n255\n`), rgb.subarray(0, width * height)]),
      pbm: Buffer.concat([Buffer.from(`P4\n${width} ${height}\n`), bits]),
    };
    for (const [name, bytes] of Object.entries(images)) {
      const onDisk = file(`rows.${name}`);
      fs.writeFileSync(onDisk, bytes);
      const read = await readPnmAsGray(onDisk);
      expect(read, name).toEqual(pnmToGray(bytes));
      expect(parsePgm(read!)).toMatchObject({ width, height });
    }
    fs.writeFileSync(file('truncated.ppm'), images.ppm.subarray(0, images.ppm.length - 10));
    expect(await readPnmAsGray(file('truncated.ppm'))).toBeUndefined();
    fs.writeFileSync(file('plain.ppm'), 'P3\n1 1\n255\n0 0 0\n');
    expect(await readPnmAsGray(file('plain.ppm'))).toBeUndefined();
  });

  it('passes gray through as it is and refuses a truncated image', () => {
    const pgm = Buffer.concat([Buffer.from('P5\n3 1\n255\n'), Buffer.from([0, 128, 255])]);
    expect(pnmToGray(pgm)).toEqual(pgm);
    expect(pnmToGray(Buffer.concat([Buffer.from('P6\n2 1\n255\n'), Buffer.from([1, 2, 3, 4, 5])]))).toBeUndefined();
  });
});

describe('runLaunched', () => {
  it('runs a command from the launcher and gives back what runWithDeadline would', async () => {
    const outcome = await runLaunched('sh', ['-c', 'echo out; echo err >&2; exit 3'], { timeoutMs: 60_000, captureStdout: true });

    expect(outcome).toMatchObject({ exitCode: 3, signal: null, timedOut: false, stdout: 'out\n' });
    expect(outcome.stderr).toContain('err');
  });

  it('runs the process at the niceness asked for (tesseract runs below the worker), and at normal priority otherwise', async () => {
    // `nice` prints its own niceness; the short sleep lets the priority land first.
    const niced = await runLaunched('sh', ['-c', 'sleep 0.2; nice'], { timeoutMs: 60_000, captureStdout: true, niceness: 10 });
    const plain = await runLaunched('sh', ['-c', 'sleep 0.2; nice'], { timeoutMs: 60_000, captureStdout: true });

    expect(Number(niced.stdout) - Number(plain.stdout)).toBe(10);
  });

  it('passes a crash through as the signal that killed the process', async () => {
    expect(await runLaunched('sh', ['-c', 'kill -SEGV $$'], { timeoutMs: 60_000 })).toMatchObject({ signal: 'SIGSEGV', exitCode: null });
  });

  it('kills the process when the deadline passes or the caller aborts', async () => {
    expect(await runLaunched('sleep', ['30'], { timeoutMs: 50 })).toMatchObject({ timedOut: true, signal: 'SIGKILL' });
    const controller = new AbortController();
    const running = runLaunched('sleep', ['30'], { timeoutMs: 60_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    expect(await running).toMatchObject({ aborted: true, signal: 'SIGKILL' });
  });

  it('reports a command that is not installed as a spawn error', async () => {
    const outcome = await runLaunched('clerk-no-such-command', [], { timeoutMs: 60_000 });
    expect(outcome.spawnError?.code).toBe('ENOENT');
  });

  it('survives its launcher being killed: the call in flight fails, to be retried, and the next call starts a new launcher', async () => {
    await runLaunched('true', [], generous);
    const killed = launcherPid();
    const inFlight = runLaunched('sleep', ['3'], generous);
    process.kill(killed, 'SIGKILL');
    await expect(inFlight).rejects.toThrow(/the process launcher was killed by SIGKILL; the subprocess it ran is lost, try again/);
    expect(await runLaunched('sh', ['-c', 'exit 4'], generous)).toMatchObject({ exitCode: 4, signal: null });
    expect(launcherPid()).not.toBe(killed);
  });
});

/** The launcher this test process started (a child running launcher-child). */
function launcherPid(): number {
  const listed = spawnSync('pgrep', ['-P', String(process.pid), '-f', 'launcher-child'], { encoding: 'utf8' }).stdout.trim().split('\n');
  expect(listed).toHaveLength(1);
  return Number(listed[0]);
}
