import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentPdfError, type PermanentPdfReason } from '../../src/pdf/errors.js';
import { runPdfChild } from '../../src/pdf/pdf-child.js';
import { detectRenderer, renderPageToPgm, type PdfRenderer } from '../../src/pdf/render.js';
import { fitRenderDpi, MAX_RENDER_PIXELS, MIN_OCR_DPI } from '../../src/pdf/render-budget.js';
import { isUsableTextLayer, readTextLayer, type TextLayerReader } from '../../src/pdf/text-layer.js';
import { makeScannedPdf, makeTextPdf } from '../../src/samples/pdf-builder.js';

const hasPdftoppm = spawnSync('pdftoppm', ['-v']).status === 0;
const generous = { timeoutMs: 60_000 };

const agendaPage = [
  'CITY COUNCIL REGULAR MEETING MINUTES',
  'The meeting was called to order at 6:02 p.m. by Mayor Alvarez.',
  'Councilmember Okafor moved to approve the QUETZAL aviary contract.',
  'The motion was seconded by Councilmember Lindqvist and carried 5-2.',
];
const junkLines = ["~|l ,.;' ^^ ~~ |I1 ;: `` ~", "lllll|||IIII ;;;; ..,,~~ ''", "Xkq Wrtpz ~| ;; Bvnmq ^^ |l|"];

let dir: string;
const file = (name: string) => path.join(dir, name);
async function writePdf(name: string, bytes: Uint8Array | string): Promise<string> {
  await fs.promises.writeFile(file(name), bytes);
  return file(name);
}

beforeAll(async () => {
  dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'clerk-pdf-test-'));
  const text = await makeTextPdf([agendaPage, ['Adjourned at 8:15 p.m. All members were present for the roll call vote.']]);
  await writePdf('text.pdf', text);
  await writePdf('scanned.pdf', await makeScannedPdf([agendaPage]));
  await writePdf('junk-layer.pdf', await makeTextPdf([junkLines]));
  await writePdf('corrupt.pdf', Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.from(Array.from({ length: 4000 }, (_, i) => (i * 7919) % 256))]));
  await writePdf('truncated.pdf', text.slice(0, Math.floor(text.length / 2)));
  await writePdf('zero-bytes.pdf', '');
  await writePdf('no-pages.pdf', await (await PDFDocument.create()).save({ addDefaultPage: false }));
  await writePdf('html.pdf', '<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body>Gone</body></html>\n');
  await writePdf('encrypted.pdf', makeEncryptedPdf());
  await writePdf('giant-page.pdf', await pdfWithPageSizes([[612, 792], [14_400, 14_400], [612, 792]]));
});

afterAll(async () => {
  await fs.promises.rm(dir, { recursive: true, force: true });
});

const readers: TextLayerReader[] = hasPdftoppm ? ['pdfjs', 'poppler'] : ['pdfjs'];

describe.each(readers)('readTextLayer with %s', (reader) => {
  it('reads every page of a PDF with a text layer, one line per line', async () => {
    const layer = await readTextLayer(file('text.pdf'), { ...generous, reader });

    expect(layer.reader).toBe(reader);
    expect(layer.pageCount).toBe(2);
    expect(layer.pages.map((p) => p.page)).toEqual([1, 2]);
    // poppler measures pages only in documents that need OCR; pdf.js measures every page.
    expect(layer.pages[0]).toEqual({ page: 1, text: agendaPage.join('\n'), usable: true, ...(reader === 'pdfjs' ? { size: { width: 612, height: 792 } } : {}) });
    expect(layer.pages[1]?.usable).toBe(true);
  });

  it('finds no usable text on a scanned, image-only page, and gives its size', async () => {
    const layer = await readTextLayer(file('scanned.pdf'), { ...generous, reader });

    expect(layer.pageCount).toBe(1);
    expect(layer.pages).toEqual([
      {
        page: 1,
        text: '',
        usable: false,
        size: { width: 612, height: 792 },
        // poppler also finds that the page is one full-page scan, and its resolution.
        ...(reader === 'poppler' ? { scan: { ppi: 150, widthPx: 1275, heightPx: 1651 } } : {}),
      },
    ]);
  });

  it('keeps the columns of a two-column page in reading order', async () => {
    const left = ['The Council adopted the budget.', 'Parks received a new grant.'];
    const right = ['Public comment followed.', 'The meeting adjourned at nine.'];
    const pdf = await PDFDocument.create();
    const font = await pdf.embedFont(StandardFonts.Helvetica);
    const page = pdf.addPage([612, 792]);
    for (const [i, line] of left.entries()) page.drawText(line, { x: 54, y: 700 - i * 16, size: 12, font });
    for (const [i, line] of right.entries()) page.drawText(line, { x: 330, y: 700 - i * 16, size: 12, font });
    const layer = await readTextLayer(await writePdf(`columns-${reader}.pdf`, await pdf.save()), { ...generous, reader });

    expect(layer.pages[0]!.text.replace(/\s+/g, ' ')).toBe([...left, ...right].join(' '));
  });

  it('returns a junk text layer but marks it unusable, so the page goes to OCR', async () => {
    const layer = await readTextLayer(file('junk-layer.pdf'), generous);

    expect(layer.pages[0]?.text).not.toBe('');
    expect(layer.pages[0]?.usable).toBe(false);
  });

  it('refuses a document with more pages than maxPages as too-large', async () => {
    await expectPermanent(readTextLayer(file('text.pdf'), { ...generous, maxPages: 1, reader }), 'too-large');
  });

  it.each<[string, PermanentPdfReason]>([
    ['corrupt.pdf', 'corrupt'],
    ['truncated.pdf', 'corrupt'],
    ['zero-bytes.pdf', 'empty'],
    ['no-pages.pdf', 'empty'],
    ['html.pdf', 'not-pdf'],
    ['encrypted.pdf', 'encrypted'],
  ])('rejects %s as permanently %s', async (name, reason) => {
    await expectPermanent(readTextLayer(file(name), { ...generous, reader }), reason);
  });

  it('kills the reader and reports renderer-timeout when the deadline passes', async () => {
    await expectPermanent(readTextLayer(file('text.pdf'), { timeoutMs: 1, reader }), 'renderer-timeout');
  });
});

describe('isUsableTextLayer', () => {
  it('accepts ordinary council prose', () => {
    expect(isUsableTextLayer(agendaPage.join('\n'))).toBe(true);
  });

  it('accepts a budget table that is mostly numbers', () => {
    const table = ['Fund  FY2024  FY2025  Change', 'General  $1,204,330  $1,310,002  8.8%', 'Streets and Roads  $402,118  $398,500  -0.9%', 'Parks  $88,210  $91,004  3.2%'];
    expect(isUsableTextLayer(table.join('\n'))).toBe(true);
  });

  it('accepts an agenda whose items are joined to page numbers by leader dots', () => {
    const agenda = ['1. Call to Order ........................................ 1', '2. Roll Call ............................................. 1', '3. Approval of Minutes .................................... 2', '4. Public Hearing: Zoning Variance ........................ 4'];
    expect(isUsableTextLayer(agenda.join('\n'))).toBe(true);
  });

  it.each([
    ['nothing', ''],
    ['only whitespace', ' \n\t \n '],
    ['a lone page number', 'Page 3 of 12'],
    ['symbol soup from a bad scanner OCR layer', junkLines.join('\n').repeat(3)],
    ['specks read as lone letters', "ii ,I ' I ; l 1 . i I I l ' ! 1 ' I ii ,I ' I ; I 1 . i I I l ' ! 1 j I ii ,I ' l ; I"],
    ['mojibake', 'Ã©Ã¨ Ã§Ã  ÂÂ Ã¢â‚¬â„¢ Ã©Ã¨ Ã§Ã  ÂÂ Ã¢â‚¬â„¢ Ã©Ã¨ Ã§Ã  ÂÂ'],
    ['unmapped glyph ids', '(cid:3)(cid:4)(cid:5)(cid:6)(cid:7)(cid:8)(cid:9)(cid:10)(cid:11)(cid:12)'],
    ['consonant gibberish', 'Xkq Wrtpz Bvnmq Ptrsk Lkjhg Zxcvb Qwrtp Mnbvc Sdfgh Jklzx'],
    ['long runs of one character', 'lllllllllllllllllll IIIIIIIIIIIIIIIII iiiiiiiiiiiiiii the'],
  ])('rejects %s', (_, text) => {
    expect(isUsableTextLayer(text)).toBe(false);
  });
});

const renderers: PdfRenderer[] = hasPdftoppm ? ['pdfjs', 'pdftoppm'] : ['pdfjs'];

describe.each(renderers)('renderPageToPgm with %s', (renderer) => {
  it('writes a binary grayscale PGM of the page at the requested dpi', async () => {
    const outPath = file(`page-${renderer}.pgm`);
    await renderPageToPgm(file('scanned.pdf'), 1, { dpi: 200, timeoutMs: 60_000, outPath, renderer });

    const image = parsePgm(await fs.promises.readFile(outPath));
    // A US Letter page is 8.5 x 11 inches.
    expect([image.width, image.height]).toEqual([1700, 2200]);
    const dark = image.pixels.filter((v) => v < 128).length;
    expect(dark).toBeGreaterThan(1000); // the text is there...
    expect(dark / image.pixels.length).toBeLessThan(0.1); // ...on a white page
  });

  it('renders the requested page of a multi-page document', async () => {
    const outPath = file(`page2-${renderer}.pgm`);
    await renderPageToPgm(file('text.pdf'), 2, { dpi: 72, timeoutMs: 60_000, outPath, renderer });

    expect(parsePgm(await fs.promises.readFile(outPath))).toMatchObject({ width: 612, height: 792 });
  });

  it.each<[string, PermanentPdfReason]>([
    ['truncated.pdf', 'corrupt'],
    ['zero-bytes.pdf', 'empty'],
    ['no-pages.pdf', 'empty'],
    ['html.pdf', 'not-pdf'],
    ['encrypted.pdf', 'encrypted'],
  ])('rejects %s as permanently %s and leaves no image behind', async (name, reason) => {
    const outPath = file(`${name}-${renderer}.pgm`);
    await expectPermanent(renderPageToPgm(file(name), 1, { dpi: 100, timeoutMs: 60_000, outPath, renderer }), reason);
    expect(fs.readdirSync(dir).filter((entry) => entry.startsWith(path.basename(outPath)))).toEqual([]);
  });

  it('kills the renderer and reports renderer-timeout when the deadline passes', async () => {
    const outPath = file(`timeout-${renderer}.pgm`);
    await expectPermanent(renderPageToPgm(file('scanned.pdf'), 1, { dpi: 600, timeoutMs: 1, outPath, renderer }), 'renderer-timeout');
    expect(fs.existsSync(outPath)).toBe(false);
  });

  it('rejects a page number past the end with a RangeError, not a verdict on the file', async () => {
    const rendering = renderPageToPgm(file('text.pdf'), 3, { dpi: 72, timeoutMs: 60_000, outPath: file('page3.pgm'), renderer });
    await expect(rendering).rejects.toBeInstanceOf(RangeError);
  });

  it('renders a page too big for the requested dpi at the highest dpi within the pixel budget', async () => {
    const outPath = file(`budget-${renderer}.pgm`);
    const maxPixels = 1_000_000;
    const { dpi } = await renderPageToPgm(file('scanned.pdf'), 1, { dpi: 200, timeoutMs: 60_000, outPath, renderer, maxPixels });

    expect(dpi).toBe(103); // sqrt(1,000,000 / (8.5 x 11 inches))
    const image = parsePgm(await fs.promises.readFile(outPath));
    expect(image.width * image.height).toBeLessThanOrEqual(maxPixels);
    expect(Math.abs(image.width - 8.5 * dpi)).toBeLessThanOrEqual(1);
    expect(image.pixels.filter((v) => v < 128).length).toBeGreaterThan(100); // still the page's text
  });

  it('refuses a 200 x 200 inch page as too-large without rendering it, and renders its letter-size neighbours', async () => {
    const options = { dpi: 200, timeoutMs: 60_000, renderer };
    await expectPermanent(renderPageToPgm(file('giant-page.pdf'), 2, { ...options, outPath: file(`giant-${renderer}.pgm`) }), 'too-large');
    expect(fs.readdirSync(dir).filter((entry) => entry.startsWith(`giant-${renderer}.pgm`))).toEqual([]);

    expect(await renderPageToPgm(file('giant-page.pdf'), 3, { ...options, outPath: file(`giant-neighbour-${renderer}.pgm`) })).toEqual({ dpi: 200 });
  });
});

describe.skipIf(!hasPdftoppm)('renderPageToPgm with pdftoppm and a page size from the text-layer pass', () => {
  it('trusts the size it is given instead of asking pdfinfo', async () => {
    const claimed = { width: 14_400, height: 14_400 };
    const rendering = renderPageToPgm(file('text.pdf'), 1, { dpi: 200, timeoutMs: 60_000, outPath: file('trusted-size.pgm'), renderer: 'pdftoppm', pageSize: claimed });
    await expectPermanent(rendering, 'too-large');
  });
});

describe('readTextLayer page sizes', () => {
  it('reports each page size in points, so OCR can fit it into the render budget without asking again', async () => {
    const layer = await readTextLayer(file('giant-page.pdf'), generous);
    expect(layer.pages.map((p) => p.size)).toEqual([
      { width: 612, height: 792 },
      { width: 14_400, height: 14_400 },
      { width: 612, height: 792 },
    ]);
  });
});

describe('fitRenderDpi', () => {
  it('keeps the requested dpi for a page that fits, up to a 36 x 48 inch plan sheet', () => {
    expect(fitRenderDpi({ width: 612, height: 792 }, 200)).toBe(200);
    expect(fitRenderDpi({ width: 36 * 72, height: 48 * 72 }, 200)).toBe(200);
  });

  it('lowers the dpi of a bigger page so the image stays within the budget', () => {
    const poster = { width: 60 * 72, height: 60 * 72 };
    const dpi = fitRenderDpi(poster, 200)!;
    expect(dpi).toBe(149);
    expect((60 * dpi) ** 2).toBeLessThanOrEqual(MAX_RENDER_PIXELS);
    expect((60 * (dpi + 1)) ** 2).toBeGreaterThan(MAX_RENDER_PIXELS);
  });

  it('keeps each side within what tesseract reads, however thin the page', () => {
    const banner = { width: 200 * 72, height: 2 * 72 };
    expect(200 * fitRenderDpi(banner, 200)!).toBeLessThanOrEqual(32_767);
  });

  it('gives up on a page that would need less than the lowest dpi OCR can read', () => {
    expect(fitRenderDpi({ width: 14_400, height: 14_400 }, 200)).toBeNull();
    expect(fitRenderDpi({ width: 14_400, height: 14_400 }, 200, 1_000_000_000)).toBeGreaterThanOrEqual(MIN_OCR_DPI);
  });
});

describe('detectRenderer', () => {
  it('prefers pdftoppm when poppler is installed and otherwise falls back to pdf.js', async () => {
    expect(await detectRenderer()).toBe(hasPdftoppm ? 'pdftoppm' : 'pdfjs');
  });
});

describe('the pdf.js child process', () => {
  it.each([
    ['dies from a signal', "process.kill(process.pid, 'SIGSEGV');"],
    ['exits with an error before answering', "throw new Error('boom');"],
    ['exits without answering', 'process.exit(0);'],
  ])('is reported as renderer-crashed when it %s', async (_, body) => {
    const script = await writePdf(`child-${Math.random().toString(36).slice(2)}.ts`, body);
    await expectPermanent(runPdfChild(script, [], { timeoutMs: 60_000, pdfPath: file('text.pdf') }), 'renderer-crashed');
  });
});

async function expectPermanent(promise: Promise<unknown>, reason: PermanentPdfReason): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (rejection: unknown) => rejection,
  );
  expect(error).toBeInstanceOf(PermanentPdfError);
  expect((error as PermanentPdfError).reason).toBe(reason);
  // Messages are for people: a full sentence naming the file.
  expect((error as PermanentPdfError).message).toMatch(/^The file \S+\.pdf .+\./);
}

function parsePgm(bytes: Buffer): { width: number; height: number; pixels: Uint8Array } {
  const header = /^P5\s+(\d+)\s+(\d+)\s+255\s/.exec(bytes.toString('latin1', 0, 50));
  expect(header, 'a binary PGM (P5) header with maxval 255').not.toBeNull();
  const [whole, width, height] = header!;
  const pixels = bytes.subarray(whole.length);
  expect(pixels.length).toBe(Number(width) * Number(height));
  return { width: Number(width), height: Number(height), pixels };
}

async function pdfWithPageSizes(sizes: [number, number][]): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  for (const size of sizes) pdf.addPage(size);
  return pdf.save();
}

/**
 * A one-page PDF encrypted with the standard security handler and a user password that is not
 * empty. qpdf is not available, so it is written by hand: readers derive a key from the empty
 * password, it does not match /U, and they must ask for a password (pdf.js: PasswordException).
 */
function makeEncryptedPdf(): Buffer {
  const id = '0123456789abcdef0123456789abcdef';
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>',
    `<< /Filter /Standard /V 1 /R 2 /Length 40 /P -44 /O <${'a'.repeat(64)}> /U <${'b'.repeat(64)}> >>`,
  ];
  let pdf = '%PDF-1.4\n';
  const offsets = objects.map((body, index) => {
    const offset = pdf.length;
    pdf += `${index + 1} 0 obj\n${body}\nendobj\n`;
    return offset;
  });
  const xrefOffset = pdf.length;
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  pdf += offsets.map((offset) => `${String(offset).padStart(10, '0')} 00000 n \n`).join('');
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R /Encrypt 4 0 R /ID [<${id}> <${id}>] >>\n`;
  pdf += `startxref\n${xrefOffset}\n%%EOF\n`;
  return Buffer.from(pdf, 'latin1');
}
