import fs from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import { concatTransformationMatrix, drawObject, PDFDict, PDFDocument, PDFName, PDFString, popGraphicsState, pushGraphicsState } from 'pdf-lib';
import { openPdf, renderPageGray, type GrayImage } from '../pdf/pdfjs.js';
import { makeTextPdf } from './pdf-builder.js';
import { documentPath, renderIndexPage, SAMPLE_PDF_DATE, withFixedMetadata, type SampleDocumentKind } from './sample-site.js';

/** Why a document is expected to fail, in the words the pipeline should use. */
export type BadCorpusFailureReason = 'corrupt' | 'encrypted' | 'empty' | 'not-pdf';

export type BadCorpusDefect =
  | 'none'
  | 'corrupt-bytes'
  | 'truncated'
  | 'encrypted'
  | 'zero-bytes'
  | 'html-as-pdf'
  | 'zero-pages'
  | 'many-pages'
  | 'huge-image'
  | 'giant-page'
  | 'duplicate'
  | 'latin1-metadata';

export interface BadCorpusDocument {
  kind: SampleDocumentKind;
  meeting: string;
  date: string;
  /** Relative to the site folder (also the href on the index page). */
  path: string;
  defect: BadCorpusDefect;
  expected: 'ok' | 'failed';
  /** Set when expected is 'failed'. */
  expectedReason?: BadCorpusFailureReason;
  /** Pages a correct pipeline ends up with; 0 for a failed document. */
  pageCount: number;
  /** Pages of a document expected to be ok that fail on their own, with the reason. */
  failedPages?: { page: number; reason: 'too-large' }[];
  description: string;
}

export interface BadCorpusManifest {
  subdomain: string;
  indexPath: string;
  documents: BadCorpusDocument[];
  okDocuments: number;
  failedDocuments: number;
  /** Sum of pageCount over the documents expected to be ok. */
  okPages: number;
  /** Of those, the pages expected to fail on their own. */
  failedPages: number;
}

export interface BadCorpusOptions {
  subdomain?: string;
  /** Pages of the many-pages document (default 300). */
  largePageCount?: number;
  /** Side of the huge image, in pixels (default 6000). */
  hugeImageSize?: number;
}

interface Entry {
  kind: SampleDocumentKind;
  meeting: string;
  date: string;
  defect: BadCorpusDefect;
  expected: 'ok' | 'failed';
  expectedReason?: BadCorpusFailureReason;
  pageCount: number;
  failedPages?: { page: number; reason: 'too-large' }[];
  description: string;
  bytes: Uint8Array;
  /** Overrides the default path (documentPath), e.g. to give a PDF-named file odd contents. */
  path?: string;
}

/**
 * A sample site (same index page format as writeSampleSite) whose documents are good ones mixed
 * with every kind of bad file a real municipal site serves: garbage, truncated, encrypted, empty,
 * HTML error pages, page-less PDFs, very long PDFs, a huge scan, a duplicate, and mis-encoded
 * metadata. manifest.json says which should succeed and why the others fail.
 */
export async function writeBadCorpusSite(outDir: string, options: BadCorpusOptions = {}): Promise<BadCorpusManifest> {
  const subdomain = options.subdomain ?? 'badcorpus.ca';
  const largePageCount = options.largePageCount ?? 300;
  const hugeImageSize = options.hugeImageSize ?? 6000;
  if (!Number.isInteger(largePageCount) || largePageCount < 1) throw new RangeError('largePageCount must be a whole number of 1 or more');
  if (!Number.isInteger(hugeImageSize) || hugeImageSize < 100) throw new RangeError('hugeImageSize must be a whole number of 100 or more');

  const agenda = await textPdf(agendaPages(), 'City Council Agenda 2026-02-02');
  const minutes = await textPdf(minutesPages(), 'City Council Minutes 2026-02-02');
  const duplicated = await textPdf(duplicatedPages(), 'Library Board Minutes 2026-02-04');
  const entries: Entry[] = [
    { kind: 'agenda', meeting: 'City Council', date: '2026-02-02', defect: 'none', expected: 'ok', pageCount: 1, description: 'a good agenda', bytes: agenda },
    { kind: 'minutes', meeting: 'City Council', date: '2026-02-02', defect: 'none', expected: 'ok', pageCount: 2, description: 'good minutes', bytes: minutes },
    {
      kind: 'minutes',
      meeting: 'Library Board',
      date: '2026-02-04',
      defect: 'duplicate',
      expected: 'ok',
      pageCount: 1,
      description: 'the same bytes as the Library Board Special minutes of 2026-02-05',
      bytes: duplicated,
    },
    {
      kind: 'minutes',
      meeting: 'Library Board Special',
      date: '2026-02-05',
      defect: 'duplicate',
      expected: 'ok',
      pageCount: 1,
      description: 'the same bytes as the Library Board minutes of 2026-02-04',
      bytes: duplicated,
    },
    {
      kind: 'minutes',
      meeting: 'Historical Advisory Board',
      date: '2026-02-05',
      defect: 'latin1-metadata',
      expected: 'ok',
      pageCount: 1,
      description: 'Title and Author in the Info dictionary are raw Latin-1 bytes and invalid UTF-8',
      bytes: await latin1MetadataPdf(),
    },
    {
      kind: 'minutes',
      meeting: 'Transportation Commission',
      date: '2026-02-09',
      defect: 'many-pages',
      expected: 'ok',
      pageCount: largePageCount,
      description: `${largePageCount} pages of short text`,
      bytes: await manyPagesPdf(largePageCount),
    },
    {
      kind: 'agenda',
      meeting: 'Planning Board',
      date: '2026-02-09',
      defect: 'huge-image',
      expected: 'ok',
      pageCount: 1,
      description: `one 20x20 inch page holding a ${hugeImageSize}x${hugeImageSize} grayscale image`,
      bytes: await hugeImagePdf(hugeImageSize),
    },
    {
      kind: 'minutes',
      meeting: 'Planning Board',
      date: '2026-02-09',
      defect: 'giant-page',
      expected: 'ok',
      pageCount: 3,
      failedPages: [{ page: 2, reason: 'too-large' }],
      description: 'two letter pages of text around a blank 200 x 200 inch page, too big to render for OCR at any useful dpi',
      bytes: await giantPagePdf(),
    },
    {
      kind: 'minutes',
      meeting: 'Recreation and Park Commission',
      date: '2026-02-10',
      defect: 'corrupt-bytes',
      expected: 'failed',
      expectedReason: 'corrupt',
      pageCount: 0,
      description: 'a %PDF-1.7 header followed by random bytes',
      bytes: corruptBytes(8192),
    },
    {
      kind: 'minutes',
      meeting: 'City Council',
      date: '2026-02-16',
      defect: 'truncated',
      expected: 'failed',
      expectedReason: 'corrupt',
      pageCount: 0,
      description: 'a valid PDF cut off halfway (its cross-reference stream is gone)',
      bytes: minutes.slice(0, Math.floor(minutes.length / 2)),
    },
    {
      kind: 'minutes',
      meeting: 'Civil Service Board',
      date: '2026-02-11',
      defect: 'encrypted',
      expected: 'failed',
      expectedReason: 'encrypted',
      pageCount: 0,
      description: 'standard security handler with an unknown user password: pdf.js raises PasswordException',
      bytes: encryptedPdf(),
    },
    {
      kind: 'agenda',
      meeting: 'Open Government Commission',
      date: '2026-02-11',
      defect: 'zero-bytes',
      expected: 'failed',
      expectedReason: 'empty',
      pageCount: 0,
      description: 'a 0-byte file',
      bytes: new Uint8Array(0),
    },
    {
      kind: 'agenda',
      meeting: 'Housing Authority',
      date: '2026-02-12',
      defect: 'html-as-pdf',
      expected: 'failed',
      expectedReason: 'not-pdf',
      pageCount: 0,
      description: 'an HTML error page saved under a .pdf name',
      bytes: Buffer.from(htmlErrorPage(), 'utf8'),
    },
    {
      kind: 'agenda',
      meeting: 'Social Service Human Relations Board',
      date: '2026-02-12',
      defect: 'zero-pages',
      expected: 'failed',
      expectedReason: 'empty',
      pageCount: 0,
      description: 'a well-formed PDF whose page tree has /Count 0 and empty /Kids (pdf.js: numPages 0)',
      bytes: zeroPagePdf(),
    },
  ];

  await fs.mkdir(outDir, { recursive: true });
  const documents: BadCorpusDocument[] = [];
  for (const entry of entries) {
    const relative = entry.path ?? documentPath(entry);
    const target = path.join(outDir, ...relative.split('/'));
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.writeFile(target, entry.bytes);
    const { bytes: _bytes, path: _path, ...described } = entry;
    documents.push({ ...described, path: relative });
  }
  const ok = documents.filter((d) => d.expected === 'ok');
  const manifest: BadCorpusManifest = {
    subdomain,
    indexPath: 'index.html',
    documents,
    okDocuments: ok.length,
    failedDocuments: documents.length - ok.length,
    okPages: ok.reduce((sum, d) => sum + d.pageCount, 0),
    failedPages: ok.reduce((sum, d) => sum + (d.failedPages?.length ?? 0), 0),
  };
  await fs.writeFile(path.join(outDir, manifest.indexPath), renderIndexPage('City of Alameda (troubled archive)', documents));
  await fs.writeFile(path.join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

async function textPdf(pages: string[][], title: string): Promise<Uint8Array> {
  return withFixedMetadata(await makeTextPdf(pages, title), title);
}

/** Title and Author written as raw single bytes: Latin-1 accents plus bytes that are never valid UTF-8. */
async function latin1MetadataPdf(): Promise<Uint8Array> {
  const pdf = await PDFDocument.load(await textPdf(latin1Pages(), 'placeholder'), { updateMetadata: false });
  const info = pdf.context.lookup(pdf.context.trailerInfo.Info, PDFDict);
  // PDFString writes each character's code as one byte, unescaped: no parentheses or backslashes here.
  info.set(PDFName.of('Title'), PDFString.of('R\xe9union du Conseil consultatif \x96 Comit\xe9 historique \xff\xc3\x80'));
  info.set(PDFName.of('Author'), PDFString.of('Jos\xe9 Mu\xf1oz, Secr\xe9taire \xe0 la mairie \xc0\xaf'));
  // No object streams: the Info dictionary stays uncompressed, its raw bytes visible in the file.
  return pdf.save({ useObjectStreams: false });
}

async function manyPagesPdf(pageCount: number): Promise<Uint8Array> {
  const pages = Array.from({ length: pageCount }, (_, i) => [
    `TRANSPORTATION COMMISSION MINUTES - FEBRUARY 9, 2026 - PAGE ${i + 1} OF ${pageCount}`,
    '',
    `Public comment card ${i + 1}: a resident asked about bus service on Webster Street.`,
    'Staff will respond in writing. No action was taken.',
  ]);
  return textPdf(pages, 'Transportation Commission Minutes 2026-02-09');
}

/** PDF's largest page (200 x 200 inches, as a broken MediaBox can claim) between two ordinary ones. */
async function giantPagePdf(): Promise<Uint8Array> {
  const pdf = await PDFDocument.load(await textPdf(giantPageNeighbours(), 'Planning Board Minutes 2026-02-09'), { updateMetadata: false });
  pdf.insertPage(1, [14_400, 14_400]);
  return pdf.save();
}

/** One square page carrying a size x size DeviceGray image (a site plan scan): no text layer. */
async function hugeImagePdf(size: number): Promise<Uint8Array> {
  const image = await hugeGrayImage(size);
  const pdf = await PDFDocument.create({ updateMetadata: false });
  pdf.setTitle('Planning Board Agenda 2026-02-09 - Site Plan');
  pdf.setCreationDate(SAMPLE_PDF_DATE);
  pdf.setModificationDate(SAMPLE_PDF_DATE);
  const xObject = pdf.context.stream(zlib.deflateSync(image.pixels, { level: 6 }), {
    Type: 'XObject',
    Subtype: 'Image',
    Width: image.width,
    Height: image.height,
    ColorSpace: 'DeviceGray',
    BitsPerComponent: 8,
    Filter: 'FlateDecode',
  });
  const ref = pdf.context.register(xObject);
  const side = 1440; // 20 inches: the image is 300 dpi at the default size
  const page = pdf.addPage([side, side]);
  const name = page.node.newXObject('Im', ref);
  page.pushOperators(pushGraphicsState(), concatTransformationMatrix(side, 0, 0, side, 0, 0), drawObject(name), popGraphicsState());
  return pdf.save();
}

/** Text rendered small by pdf.js, then scaled up by whole pixels onto a white size x size canvas. */
async function hugeGrayImage(size: number): Promise<GrayImage> {
  const factor = Math.max(1, Math.floor(size / 1500));
  const source = await openPdf(
    await makeTextPdf(
      [['SITE PLAN', '', '2100 WEBSTER STREET', 'DENSITY BONUS APPLICATION', '', 'SHEET A-1   SCALE 1/8 INCH = 1 FOOT']],
      'Site plan',
    ),
  );
  let small: GrayImage;
  try {
    small = await renderPageGray(source, 1, Math.floor(size / factor / 8.5));
  } finally {
    await source.destroy();
  }
  const pixels = new Uint8Array(size * size).fill(255);
  const rows = Math.min(small.height, Math.floor(size / factor));
  const cols = Math.min(small.width, Math.floor(size / factor));
  for (let y = 0; y < rows; y++) {
    const row = new Uint8Array(cols * factor);
    for (let x = 0; x < cols; x++) row.fill(small.pixels[y * small.width + x]!, x * factor, (x + 1) * factor);
    for (let k = 0; k < factor; k++) pixels.set(row, (y * factor + k) * size);
  }
  return { width: size, height: size, pixels };
}

/** "%PDF-1.7" then deterministic noise (a fixed-seed xorshift), so each run writes the same garbage. */
function corruptBytes(length: number): Uint8Array {
  const header = Buffer.from('%PDF-1.7\n', 'latin1');
  const out = new Uint8Array(header.length + length);
  out.set(header, 0);
  let state = 0x2545f491;
  for (let i = header.length; i < out.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = state & 0xff;
  }
  return out;
}

/**
 * A hand-written PDF with an /Encrypt dictionary (standard handler, RC4 128-bit) whose /U entry
 * matches no password: readers ask for one, and pdf.js throws PasswordException.
 */
function encryptedPdf(): Uint8Array {
  const id = '<8f1c5e2a9d3b4c7e6a0f1b2c3d4e5f60>';
  return assemblePdf(
    [
      '<< /Type /Catalog /Pages 2 0 R >>',
      '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
      '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>',
      '<< /Length 16 >>\nstream\n\x9a\x13\x7f\xc2\x55\x01\xe8\x3d\x44\xb0\x6e\x29\xd1\x8c\x07\xfa\nendstream',
      `<< /Filter /Standard /V 2 /R 3 /Length 128 /P -3904 /O <${'a5c3'.repeat(16)}> /U <${'5a3c'.repeat(16)}> >>`,
    ],
    `/Root 1 0 R /Encrypt 5 0 R /ID [${id} ${id}]`,
  );
}

/** A well-formed PDF with an empty page tree. */
function zeroPagePdf(): Uint8Array {
  return assemblePdf(
    ['<< /Type /Catalog /Pages 2 0 R >>', '<< /Type /Pages /Kids [] /Count 0 >>', '<< /Title (Empty agenda) /Producer (clerk sample-site) >>'],
    '/Root 1 0 R /Info 3 0 R',
  );
}

/**
 * Writes objects 1..n (bodies as latin1 strings) with a classic cross-reference table whose
 * offsets are exact, and a trailer carrying `trailerEntries` plus /Size.
 */
export function assemblePdf(bodies: string[], trailerEntries: string): Uint8Array {
  const chunks: Buffer[] = [Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let offset = chunks[0]!.length;
  const offsets: number[] = [];
  bodies.forEach((body, i) => {
    const chunk = Buffer.from(`${i + 1} 0 obj\n${body}\nendobj\n`, 'latin1');
    offsets.push(offset);
    chunks.push(chunk);
    offset += chunk.length;
  });
  const xref =
    `xref\n0 ${bodies.length + 1}\n0000000000 65535 f \n` +
    offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('') +
    `trailer\n<< /Size ${bodies.length + 1} ${trailerEntries} >>\nstartxref\n${offset}\n%%EOF\n`;
  chunks.push(Buffer.from(xref, 'latin1'));
  return new Uint8Array(Buffer.concat(chunks));
}

function htmlErrorPage(): string {
  return `<!DOCTYPE html>
<html>
<head><title>Document Not Found</title></head>
<body>
<h1>We're sorry, the document you requested could not be found.</h1>
<p>The agenda may have been moved to the new Legistar portal. Please return to the
<a href="/index.html">meetings page</a> or contact the City Clerk at clerk@example.org.</p>
</body>
</html>
`;
}

function agendaPages(): string[][] {
  return [
    [
      'CITY OF ALAMEDA',
      'CITY COUNCIL REGULAR MEETING AGENDA',
      'Monday, February 2, 2026 - 7:00 p.m.',
      '',
      '1. ROLL CALL',
      '2. CONSENT CALENDAR',
      '2-A. Recommendation to Award a Contract of $612,000 to Harbor Electric for',
      '     Street Lighting on Park Street.',
      '3. REGULAR AGENDA ITEMS',
      '3-A. Resolution No. 16031 Supporting the Sierra Club Shoreline Cleanup Day.',
      '4. ADJOURNMENT',
    ],
  ];
}

function minutesPages(): string[][] {
  return [
    [
      'MINUTES OF THE REGULAR CITY COUNCIL MEETING',
      'MONDAY, FEBRUARY 2, 2026 - 7:00 P.M.',
      '',
      'Present: Council Members Ortiz, Chen, Ramirez, Vice Mayor Daysog, Mayor Ashcraft.',
      '',
      'CONSENT CALENDAR',
      'Contract with Harbor Electric for $612,000 for street lighting on Park Street.',
      'Motion by Council Member Ortiz, seconded by Vice Mayor Daysog.',
      'Ayes: Council Members Ortiz, Chen, Ramirez, Vice Mayor Daysog, Mayor Ashcraft - 5.',
      'Noes: None. The motion carried 5-0.',
    ],
    [
      'REGULAR AGENDA ITEMS',
      'Resolution No. 16031 Supporting the Sierra Club Shoreline Cleanup Day.',
      'Motion by Council Member Chen, seconded by Council Member Ramirez.',
      'Ayes: Council Members Chen, Ramirez, Vice Mayor Daysog, Mayor Ashcraft - 4.',
      'Noes: Council Member Ortiz - 1. The motion carried 4-1.',
      '',
      'ADJOURNMENT',
      'Mayor Ashcraft adjourned the meeting at 8:47 p.m.',
    ],
  ];
}

function duplicatedPages(): string[][] {
  return [
    [
      'LIBRARY BOARD MINUTES',
      'WEDNESDAY, FEBRUARY 4, 2026',
      '',
      'Present: Board Members Lindqvist, Abara, Fujimoto, President Kowalczyk.',
      'The Board accepted a gift of $25,000 from the Friends of the Alameda Free Library',
      'for the West End branch on Webster Street.',
      'Motion by Board Member Abara, seconded by Board Member Fujimoto.',
      'Ayes: 4. Noes: 0. The motion carried 4-0.',
    ],
  ];
}

function giantPageNeighbours(): string[][] {
  return [
    [
      'PLANNING BOARD MINUTES',
      'MONDAY, FEBRUARY 9, 2026',
      '',
      'Present: Board Members Teague, Hom, Cisneros, President Curtis.',
      'The Board reviewed the oversized site survey attached as the next page.',
    ],
    [
      'The Board approved the Design Review for 2100 Webster Street.',
      'Motion by Board Member Hom, seconded by Board Member Teague.',
      'Ayes: 4. Noes: 0. The motion carried 4-0.',
    ],
  ];
}

function latin1Pages(): string[][] {
  return [
    [
      'HISTORICAL ADVISORY BOARD MINUTES',
      'THURSDAY, FEBRUARY 5, 2026',
      '',
      'Present: Board Members Navarro, Lindgren, Chair Okonkwo.',
      'Certificate of Approval for the demolition of a garage at 1225 Park Street.',
      'Motion by Board Member Navarro, seconded by Chair Okonkwo.',
      'Ayes: 3. Noes: 0. The motion carried 3-0.',
    ],
  ];
}
