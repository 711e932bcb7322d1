import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createCanvas, type Canvas } from '@napi-rs/canvas';
import { PDFDocument, StandardFonts, type PDFFont, type PDFPage } from 'pdf-lib';
import { grayCanvas, openPdf, renderPageGray, type GrayImage } from '../../src/pdf/pdfjs.js';
import { mulberry32 } from './corpus.js';
import { documentPath, renderIndexPage, withFixedMetadata, type IndexListing } from '../../src/samples/sample-site.js';

/**
 * The OCR quality corpus: scanned council pages with ground truth, made by this module so the
 * benchmark needs nothing from outside. Each page is laid out as a vector page with pdf-lib's
 * standard fonts (Times, Helvetica, Courier: no system fonts needed), rendered by pdf.js at the
 * scan's resolution (235-300 ppi), then degraded the way a scanner degrades paper: a slight skew,
 * sensor noise, specks, a dark edge, and either JPEG compression or a bilevel threshold. The
 * picture is saved as the "source image" (PNG with pHYs, or JPEG with JFIF density, so a plain
 * tesseract knows its resolution) and embedded alone in a one-page PDF, the way a city posts a scan.
 *
 * Page types: single-column minutes, two- and three-column pages, tables, a page scanned sideways
 * and one upside down, and a blank separator sheet. The ground truth is each page's words in
 * reading order (column by column; tables row by row).
 */

export type PageType = 'single-column' | 'multi-column' | 'table' | 'rotated' | 'blank';

export interface QualityPage {
  id: string;
  type: PageType;
  description: string;
  ppi: number;
  /** Clockwise degrees the scan is turned from upright (0, 90, 180, 270). */
  rotation: number;
  encoding: 'png-gray' | 'png-bilevel' | 'jpeg';
  /** Relative to the corpus folder. */
  sourceImage: string;
  pdf: string;
  listing: IndexListing;
  /** The words in reading order, one line per text line. Empty for a blank page. */
  groundTruth: string;
}

export interface QualityCorpus {
  dir: string;
  pages: QualityPage[];
  cached: boolean;
}

/** Bump when the generated pages change, so stale caches are not reused. */
const VERSION = 1;
const MANIFEST = 'corpus.json';

export async function cachedQualityCorpus(log: (line: string) => void = () => {}): Promise<QualityCorpus> {
  const root = path.join(os.tmpdir(), 'clerk-bench-corpus');
  const dir = path.join(root, `ocr-quality-v${VERSION}`);
  const existing = await readManifest(dir);
  if (existing) return { dir, pages: existing, cached: true };
  await fs.mkdir(root, { recursive: true });
  const building = `${dir}.building-${process.pid}-${randomUUID().slice(0, 8)}`;
  log(`generating the OCR quality corpus into ${dir}`);
  try {
    await writeQualityCorpus(building);
    await fs.rename(building, dir).catch(async (error: unknown) => {
      if (!(await readManifest(dir))) throw error;
    });
  } finally {
    await fs.rm(building, { recursive: true, force: true });
  }
  return { dir, pages: (await readManifest(dir))!, cached: false };
}

async function readManifest(dir: string): Promise<QualityPage[] | undefined> {
  try {
    return JSON.parse(await fs.readFile(path.join(dir, MANIFEST), 'utf8')) as QualityPage[];
  } catch {
    return undefined;
  }
}

/** Writes every page (source image, PDF, ground truth), index.html and corpus.json into outDir. */
export async function writeQualityCorpus(outDir: string): Promise<QualityPage[]> {
  await fs.mkdir(path.join(outDir, 'images'), { recursive: true });
  const pages: QualityPage[] = [];
  for (const [index, spec] of PAGE_SPECS.entries()) {
    const random = mulberry32(0x0c7 + index * 104_729);
    const layout = await layoutPage(spec, random);
    const gray = await renderVector(layout.pdf, spec.ppi);
    const scanned = degrade(gray, spec, random);
    const extension = spec.encoding === 'jpeg' ? 'jpg' : 'png';
    const sourceImage = `images/${spec.id}.${extension}`;
    const imageBytes = encodeImage(scanned, spec);
    await fs.writeFile(path.join(outDir, sourceImage), imageBytes);
    const listing: Omit<IndexListing, 'path'> = { kind: 'minutes', meeting: 'City Council', date: dateOf(index) };
    const pdfPath = documentPath(listing);
    const pdfBytes = await imageOnlyPdf(imageBytes, spec.encoding === 'jpeg', scanned.width, scanned.height, spec.ppi, spec.id);
    await fs.mkdir(path.dirname(path.join(outDir, pdfPath)), { recursive: true });
    await fs.writeFile(path.join(outDir, pdfPath), pdfBytes);
    await fs.writeFile(path.join(outDir, 'images', `${spec.id}.gt.txt`), layout.groundTruth + '\n');
    pages.push({
      id: spec.id,
      type: spec.type,
      description: spec.description,
      ppi: spec.ppi,
      rotation: spec.rotation ?? 0,
      encoding: spec.encoding,
      sourceImage,
      pdf: pdfPath,
      listing: { ...listing, path: pdfPath },
      groundTruth: layout.groundTruth,
    });
  }
  await fs.writeFile(path.join(outDir, 'index.html'), renderIndexPage('City of Quality Bay', pages.map((p) => p.listing)));
  await fs.writeFile(path.join(outDir, MANIFEST), JSON.stringify(pages, null, 1) + '\n');
  return pages;
}

/** One meeting date per page, so every page is its own document. */
function dateOf(index: number): string {
  return new Date(Date.UTC(2024, 0, 8 + index * 7)).toISOString().slice(0, 10);
}

// ---------------------------------------------------------------------------------------------
// Page specifications

interface PageSpec {
  id: string;
  type: PageType;
  description: string;
  ppi: number;
  encoding: QualityPage['encoding'];
  rotation?: number;
  /** Degrees of skew from a sheet fed slightly askew. */
  skew: number;
  font: 'times' | 'helvetica' | 'courier';
  fontSize: number;
  layout: 'minutes' | 'columns-2' | 'columns-3' | 'budget-table' | 'vote-table' | 'blank';
}

const PAGE_SPECS: PageSpec[] = [
  { id: 'minutes-1', type: 'single-column', description: 'minutes, Times 11 pt, 300 ppi gray PNG', ppi: 300, encoding: 'png-gray', skew: 0.3, font: 'times', fontSize: 11, layout: 'minutes' },
  { id: 'minutes-2', type: 'single-column', description: 'minutes, Helvetica 10 pt, 300 ppi JPEG', ppi: 300, encoding: 'jpeg', skew: -0.5, font: 'helvetica', fontSize: 10, layout: 'minutes' },
  { id: 'minutes-3', type: 'single-column', description: 'minutes, Times 12 pt, 240 ppi bilevel', ppi: 240, encoding: 'png-bilevel', skew: 0.7, font: 'times', fontSize: 12, layout: 'minutes' },
  { id: 'minutes-4', type: 'single-column', description: 'minutes, Courier 10 pt (typewriter), 250 ppi JPEG', ppi: 250, encoding: 'jpeg', skew: -0.2, font: 'courier', fontSize: 10, layout: 'minutes' },
  { id: 'columns-1', type: 'multi-column', description: 'two columns, Times 10 pt, 300 ppi gray PNG', ppi: 300, encoding: 'png-gray', skew: 0.4, font: 'times', fontSize: 10, layout: 'columns-2' },
  { id: 'columns-2', type: 'multi-column', description: 'two columns, Helvetica 9 pt, 240 ppi JPEG', ppi: 240, encoding: 'jpeg', skew: -0.6, font: 'helvetica', fontSize: 9, layout: 'columns-2' },
  { id: 'columns-3', type: 'multi-column', description: 'three columns, Times 9 pt, 300 ppi bilevel', ppi: 300, encoding: 'png-bilevel', skew: 0.2, font: 'times', fontSize: 9, layout: 'columns-3' },
  { id: 'columns-4', type: 'multi-column', description: 'two columns, Helvetica 10 pt, 235 ppi gray PNG', ppi: 235, encoding: 'png-gray', skew: 0.5, font: 'helvetica', fontSize: 10, layout: 'columns-2' },
  { id: 'table-1', type: 'table', description: 'budget table with rules, Helvetica 10 pt, 300 ppi gray PNG', ppi: 300, encoding: 'png-gray', skew: 0.3, font: 'helvetica', fontSize: 10, layout: 'budget-table' },
  { id: 'table-2', type: 'table', description: 'roll-call vote table, Times 11 pt, 250 ppi JPEG', ppi: 250, encoding: 'jpeg', skew: -0.4, font: 'times', fontSize: 11, layout: 'vote-table' },
  { id: 'table-3', type: 'table', description: 'budget table, Courier 10 pt, 240 ppi bilevel', ppi: 240, encoding: 'png-bilevel', skew: 0.6, font: 'courier', fontSize: 10, layout: 'budget-table' },
  { id: 'rotated-90', type: 'rotated', description: 'minutes scanned sideways (90 degrees), Times 11 pt, 300 ppi gray PNG', ppi: 300, encoding: 'png-gray', rotation: 90, skew: 0.3, font: 'times', fontSize: 11, layout: 'minutes' },
  { id: 'rotated-180', type: 'rotated', description: 'minutes scanned upside down, Helvetica 10 pt, 250 ppi JPEG', ppi: 250, encoding: 'jpeg', rotation: 180, skew: -0.3, font: 'helvetica', fontSize: 10, layout: 'minutes' },
  { id: 'rotated-270', type: 'rotated', description: 'two columns scanned sideways (270 degrees), Times 10 pt, 300 ppi bilevel', ppi: 300, encoding: 'png-bilevel', rotation: 270, skew: 0.2, font: 'times', fontSize: 10, layout: 'columns-2' },
  { id: 'blank-1', type: 'blank', description: 'blank separator sheet with specks, 300 ppi bilevel', ppi: 300, encoding: 'png-bilevel', skew: 0, font: 'times', fontSize: 10, layout: 'blank' },
];

// ---------------------------------------------------------------------------------------------
// Layout: a vector page with pdf-lib, and its ground truth

const PAGE_WIDTH = 612;
const PAGE_HEIGHT = 792;
const MARGIN = 60;

interface Layout {
  pdf: Uint8Array;
  groundTruth: string;
}

async function layoutPage(spec: PageSpec, random: Random): Promise<Layout> {
  const pdf = await PDFDocument.create();
  const font = await pdf.embedFont(spec.font === 'times' ? StandardFonts.TimesRoman : spec.font === 'helvetica' ? StandardFonts.Helvetica : StandardFonts.Courier);
  const bold = await pdf.embedFont(spec.font === 'times' ? StandardFonts.TimesRomanBold : spec.font === 'helvetica' ? StandardFonts.HelveticaBold : StandardFonts.CourierBold);
  const page = pdf.addPage([PAGE_WIDTH, PAGE_HEIGHT]);
  const writer = new PageWriter(page, font, bold, spec.fontSize);
  switch (spec.layout) {
    case 'minutes':
      writer.heading(['CITY OF QUALITY BAY', 'CITY COUNCIL REGULAR MEETING MINUTES', meetingLine(random)]);
      while (writer.column(MARGIN, PAGE_WIDTH - MARGIN, paragraph(random))) {}
      break;
    case 'columns-2':
    case 'columns-3': {
      const count = spec.layout === 'columns-2' ? 2 : 3;
      writer.heading(['QUALITY BAY COUNCIL NEWSLETTER', meetingLine(random)]);
      const gutter = 24;
      const width = (PAGE_WIDTH - 2 * MARGIN - (count - 1) * gutter) / count;
      const top = writer.y;
      for (let c = 0; c < count; c++) {
        writer.y = top;
        const left = MARGIN + c * (width + gutter);
        while (writer.column(left, left + width, paragraph(random))) {}
      }
      break;
    }
    case 'budget-table':
      writer.heading(['CITY OF QUALITY BAY', 'FISCAL YEAR 2025 BUDGET SUMMARY BY FUND']);
      writer.table(budgetRows(random), [0.42, 0.2, 0.2, 0.18]);
      break;
    case 'vote-table':
      writer.heading(['CITY COUNCIL ROLL CALL VOTES', meetingLine(random)]);
      writer.table(voteRows(random), [0.16, 0.46, 0.1, 0.1, 0.18]);
      break;
    case 'blank':
      break;
  }
  return { pdf: await pdf.save(), groundTruth: writer.lines.join('\n') };
}

/** Draws text top-down and records every drawn line, in reading order, as the ground truth. */
class PageWriter {
  y = PAGE_HEIGHT - MARGIN;
  readonly lines: string[] = [];
  private readonly leading: number;

  constructor(
    private readonly page: PDFPage,
    private readonly font: PDFFont,
    private readonly bold: PDFFont,
    private readonly size: number,
  ) {
    this.leading = size * 1.35;
  }

  heading(lines: string[]): void {
    for (const line of lines) {
      const size = this.size + 1;
      const width = this.bold.widthOfTextAtSize(line, size);
      this.page.drawText(line, { x: (PAGE_WIDTH - width) / 2, y: this.y, size, font: this.bold });
      this.lines.push(line);
      this.y -= size * 1.5;
    }
    this.y -= this.leading;
  }

  /** Wraps a paragraph into [left, right]; false (and nothing drawn) once the page bottom is reached. */
  column(left: number, right: number, text: string): boolean {
    const wrapped = wrapWords(text, right - left, (s) => this.font.widthOfTextAtSize(s, this.size));
    if (this.y - wrapped.length * this.leading < MARGIN) return false;
    for (const line of wrapped) {
      this.page.drawText(line, { x: left, y: this.y, size: this.size, font: this.font });
      this.lines.push(line);
      this.y -= this.leading;
    }
    this.y -= this.leading * 0.6;
    return true;
  }

  /** A ruled table; the first row is the header. Numbers are right-aligned in their cells. */
  table(rows: string[][], widths: number[]): void {
    const tableWidth = PAGE_WIDTH - 2 * MARGIN;
    const rowHeight = this.leading * 1.5;
    const top = this.y + this.leading;
    for (const [r, row] of rows.entries()) {
      let x = MARGIN;
      for (const [c, cell] of row.entries()) {
        const cellWidth = widths[c]! * tableWidth;
        const font = r === 0 ? this.bold : this.font;
        const textWidth = font.widthOfTextAtSize(cell, this.size);
        const numeric = /^[$\d(-][\d,.$%)-]*$/.test(cell) && c > 0;
        const cx = numeric ? x + cellWidth - 6 - textWidth : x + 6;
        this.page.drawText(cell, { x: cx, y: this.y, size: this.size, font });
        x += cellWidth;
      }
      this.lines.push(row.join(' '));
      this.y -= rowHeight;
    }
    const bottom = this.y + rowHeight - this.leading * 0.5;
    const line = (x1: number, y1: number, x2: number, y2: number) => this.page.drawLine({ start: { x: x1, y: y1 }, end: { x: x2, y: y2 }, thickness: 0.8 });
    for (let r = 0; r <= rows.length; r++) {
      const y = top - r * rowHeight - this.leading * 0.1;
      line(MARGIN, y, MARGIN + tableWidth, y);
    }
    let x = MARGIN;
    for (const w of [0, ...widths]) {
      x += w * tableWidth;
      line(x, top - this.leading * 0.1, x, bottom - this.leading * 0.1);
    }
  }
}

function wrapWords(text: string, width: number, measure: (s: string) => number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    const candidate = line ? `${line} ${word}` : word;
    if (line && measure(candidate) > width) {
      lines.push(line);
      line = word;
    } else line = candidate;
  }
  if (line) lines.push(line);
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Text: fictional council business (seeded, so every run makes the same pages)

const MEMBERS = ['Ortiz', 'Chen', 'Ramirez', 'Daysog', 'Nakamura', 'Lindqvist', 'Brennan', 'Haddad', 'Okonkwo', 'Petrov', 'Whitcombe', 'Alvarez'];
const STAFF = ['City Manager Jennifer Ott', 'Public Works Director Marcus Feld', 'Finance Director Nathan Pryor', 'City Attorney Priya Raman', 'Planning Manager Andrea Voss', 'Library Director Lena Hartmann'];
const STREETS = ['Webster Street', 'Park Street', 'Santa Clara Avenue', 'Lincoln Avenue', 'Shoreline Drive', 'Otis Drive', 'Encinal Avenue', 'Grand Street'];
const PROJECTS = ['pavement resurfacing', 'storm drain repairs', 'protected bike lanes', 'affordable housing', 'tree canopy plan', 'library renovation', 'seawall rehabilitation', 'crosswalk safety'];
const COMPANIES = ['Bayline Paving, Inc.', 'Harbor Civil Engineering', 'Westshore Builders LLC', 'Pacific Tree Care', 'Estuary Marine Services'];
const SPEAKERS = ['Helen Okafor', 'Tom Brandt', 'Rosa Delgado', 'Martin Cole', 'Yuki Tanaka', 'Samuel Adeyemi', 'Grace Kowalski', 'Irene Castillo'];
const CONCERNS = ['sidewalk damage from roots', 'traffic on side streets', 'the loss of parking', 'construction noise at night', 'the project schedule', 'the cost to residents'];

function meetingLine(random: Random): string {
  return `Meeting of ${pick(random, ['January', 'March', 'May', 'September', 'November'])} ${1 + Math.floor(random() * 27)}, 2024, 7:00 p.m., Council Chambers, City Hall`;
}

function money(random: Random): string {
  return `$${(Math.floor(random() * 2_000) * 1_250 + 25_000).toLocaleString('en-US')}`;
}

function paragraph(random: Random): string {
  const item = `${24}-${String(100 + Math.floor(random() * 800))}`;
  const [mover, seconder, ...rest] = shuffle(random, MEMBERS).slice(0, 5);
  switch (Math.floor(random() * 4)) {
    case 0:
      return `Item ${item}. Recommendation to approve a contract with ${pick(random, COMPANIES)} in an amount not to exceed ${money(random)} for ${pick(random, PROJECTS)} on ${pick(random, STREETS)}. ${pick(random, STAFF)} gave the staff report and stated that the work would begin in ${pick(random, ['March', 'June', 'the fall'])}.`;
    case 1:
      return `Public comment: ${pick(random, SPEAKERS)} spoke in support of the ${pick(random, PROJECTS)} and asked the Council to fund it this year; ${pick(random, SPEAKERS)} raised concerns about ${pick(random, CONCERNS)} near ${pick(random, STREETS)}.`;
    case 2:
      return `Motion by Council Member ${mover}, seconded by Council Member ${seconder}, to adopt Resolution No. ${16_000 + Math.floor(random() * 900)}. Ayes: Council Members ${[mover, seconder, ...rest.slice(0, 2)].join(', ')}. Noes: ${rest[2]}. The motion carried 4 to 1.`;
    default:
      return `Council Member ${mover} asked whether the grant of ${money(random)} would cover the ${pick(random, PROJECTS)}. ${pick(random, STAFF)} responded that the grant is pending and that a report will return to the Council in ${pick(random, ['April', 'July', 'October'])}.`;
  }
}

function budgetRows(random: Random): string[][] {
  const funds = ['General Fund', 'Streets and Roads', 'Parks and Recreation', 'Library Services', 'Sewer Enterprise', 'Storm Water', 'Housing Trust', 'Fleet Replacement', 'Police Services', 'Fire Services', 'Debt Service', 'Capital Projects'];
  const rows = [['Fund', 'FY 2024', 'FY 2025', 'Change']];
  for (const fund of funds) {
    const before = 100_000 + Math.floor(random() * 9_000_000);
    const after = Math.round(before * (0.9 + random() * 0.2));
    rows.push([fund, `$${before.toLocaleString('en-US')}`, `$${after.toLocaleString('en-US')}`, `${(((after - before) / before) * 100).toFixed(1)}%`]);
  }
  return rows;
}

function voteRows(random: Random): string[][] {
  const rows = [['Item', 'Subject', 'Ayes', 'Noes', 'Result']];
  for (let i = 0; i < 14; i++) {
    const noes = random() < 0.3 ? 1 + Math.floor(random() * 2) : 0;
    rows.push([`24-${100 + i * 7}`, `${capitalise(pick(random, PROJECTS))}`, String(5 - noes), String(noes), noes >= 3 ? 'Failed' : 'Carried']);
  }
  return rows;
}

function capitalise(text: string): string {
  return text[0]!.toUpperCase() + text.slice(1);
}

// ---------------------------------------------------------------------------------------------
// Scanning: render, skew, rotate, noise, encode

async function renderVector(pdfBytes: Uint8Array, ppi: number): Promise<GrayImage> {
  const doc = await openPdf(pdfBytes);
  try {
    return await renderPageGray(doc, 1, ppi);
  } finally {
    await doc.destroy();
  }
}

function degrade(image: GrayImage, spec: PageSpec, random: Random): GrayImage {
  let out = blur(transform(image, spec.skew, spec.rotation ?? 0));
  out = addNoise(out, random, spec.layout === 'blank' ? 25 : 12);
  if (spec.encoding === 'png-bilevel') out = threshold(out, 140);
  return out;
}

/** Skews by a small angle and turns by a multiple of 90 degrees clockwise, on a white sheet. */
function transform(image: GrayImage, skewDegrees: number, rotation: number): GrayImage {
  const source = grayCanvas(image);
  const turned = rotation === 90 || rotation === 270;
  const width = turned ? image.height : image.width;
  const height = turned ? image.width : image.height;
  const canvas = createCanvas(width, height);
  const context = canvas.getContext('2d');
  context.fillStyle = '#ffffff';
  context.fillRect(0, 0, width, height);
  context.translate(width / 2, height / 2);
  context.rotate(((rotation + skewDegrees) * Math.PI) / 180);
  context.drawImage(source, -image.width / 2, -image.height / 2);
  return fromCanvas(canvas);
}


function fromCanvas(canvas: Canvas): GrayImage {
  const { width, height } = canvas;
  const rgba = canvas.getContext('2d').getImageData(0, 0, width, height).data;
  const pixels = new Uint8Array(width * height);
  for (let j = 0, i = 0; j < pixels.length; j++, i += 4) pixels[j] = rgba[i]!;
  return { width, height, pixels };
}

/**
 * Sensor noise (Gaussian, sigma `sigma`), a faint paper tone, a few dark specks of dust, and the
 * scanner lid's shadow along one edge.
 */
function addNoise(image: GrayImage, random: Random, specks: number): GrayImage {
  const { width, height } = image;
  const pixels = new Uint8Array(image.pixels);
  const sigma = 22;
  for (let i = 0; i < pixels.length; i++) {
    const g = Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
    pixels[i] = clamp(pixels[i]! - 10 + g * sigma);
  }
  for (let s = 0; s < specks; s++) {
    const cx = Math.floor(random() * width);
    const cy = Math.floor(random() * height);
    const r = 1 + Math.floor(random() * 3);
    for (let y = Math.max(0, cy - r); y < Math.min(height, cy + r); y++) {
      for (let x = Math.max(0, cx - r); x < Math.min(width, cx + r); x++) pixels[y * width + x] = 30;
    }
  }
  const shadow = Math.floor(width * 0.012);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < shadow; x++) pixels[y * width + x] = clamp(pixels[y * width + x]! * (x / shadow) * 0.8);
  }
  return { width, height, pixels };
}

/** A 3 x 3 box blur: the softness of a scanner's optics. */
function blur(image: GrayImage): GrayImage {
  const { width, height, pixels } = image;
  const out = new Uint8Array(pixels.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      let n = 0;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= width) continue;
          sum += pixels[yy * width + xx]!;
          n++;
        }
      }
      out[y * width + x] = Math.round(sum / n);
    }
  }
  return { width, height, pixels: out };
}

function threshold(image: GrayImage, level: number): GrayImage {
  return { ...image, pixels: image.pixels.map((v) => (v < level ? 0 : 255)) };
}

function clamp(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

function encodeImage(image: GrayImage, spec: PageSpec): Buffer {
  const canvas = grayCanvas(image);
  if (spec.encoding === 'jpeg') return withJfifDensity(canvas.toBuffer('image/jpeg', 60), spec.ppi);
  return withPngDensity(canvas.toBuffer('image/png'), spec.ppi);
}

/** Adds a pHYs chunk (pixels per metre) after IHDR, so tools read the scan's resolution. */
function withPngDensity(png: Buffer, ppi: number): Buffer {
  const ihdrEnd = 8 + 4 + 4 + 13 + 4;
  const perMetre = Math.round(ppi / 0.0254);
  const body = Buffer.alloc(4 + 9);
  body.write('pHYs', 0, 'ascii');
  body.writeUInt32BE(perMetre, 4);
  body.writeUInt32BE(perMetre, 8);
  body.writeUInt8(1, 12);
  const chunk = Buffer.alloc(4 + body.length + 4);
  chunk.writeUInt32BE(9, 0);
  body.copy(chunk, 4);
  chunk.writeUInt32BE(crc32(body), 4 + body.length);
  return Buffer.concat([png.subarray(0, ihdrEnd), chunk, png.subarray(ihdrEnd)]);
}

/** Sets the JFIF APP0 density to `ppi` dots per inch (inserting an APP0 if there is none). */
function withJfifDensity(jpeg: Buffer, ppi: number): Buffer {
  const app0 = Buffer.from([0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x01, ppi >> 8, ppi & 0xff, ppi >> 8, ppi & 0xff, 0x00, 0x00]);
  if (jpeg[2] === 0xff && jpeg[3] === 0xe0 && jpeg.toString('ascii', 6, 10) === 'JFIF') {
    const length = jpeg.readUInt16BE(4);
    return Buffer.concat([jpeg.subarray(0, 2), app0, jpeg.subarray(4 + length)]);
  }
  return Buffer.concat([jpeg.subarray(0, 2), app0, jpeg.subarray(2)]);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A one-page PDF holding only the scan, sized so the image is at `ppi`: what a city posts. */
async function imageOnlyPdf(image: Buffer, jpeg: boolean, width: number, height: number, ppi: number, title: string): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  const embedded = jpeg ? await pdf.embedJpg(image) : await pdf.embedPng(image);
  const w = (width / ppi) * 72;
  const h = (height / ppi) * 72;
  pdf.addPage([w, h]).drawImage(embedded, { x: 0, y: 0, width: w, height: h });
  return withFixedMetadata(await pdf.save(), `Scan ${title}`);
}

// ---------------------------------------------------------------------------------------------

type Random = () => number;

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function shuffle<T>(random: Random, items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

