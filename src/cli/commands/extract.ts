import fs from 'node:fs';
import { Command } from 'commander';
import { type PageExtraction, extractDocument } from '../../extract/index.js';
import { PermanentPdfError } from '../../pdf/errors.js';
import { readTextLayer } from '../../pdf/text-layer.js';
import { CliError, ExitCode, printJson } from '../context.js';

/** A PDF's text layer is read in a child process; a sound file of hundreds of pages reads in seconds. */
const PDF_TIMEOUT_MS = 120_000;

interface ExtractedPage extends PageExtraction {
  page: number;
  /** False when the page has no usable text layer: it was not read (this command does not OCR). */
  textLayer: boolean;
}

/**
 * `clerk extract`: the entities and votes clerk reads from one page of text, or from every page of
 * a PDF's text layer read as one document. How users check a council's format and write a bug report.
 */
export function extractCommand(): Command {
  return new Command('extract')
    .description('print the entities and votes clerk reads from a page of text (or, with --pdf, a whole document)')
    .argument('[file]', 'a text file holding one page, or - for standard input')
    .option('--pdf <file>', "a PDF: every page of its text layer, read as one document (no OCR)")
    .option('--json', 'print the JSON stored in meetings.db (entities_json and votes_json per page)')
    .action(async (file: string | undefined, options: { pdf?: string; json?: boolean }) => {
      if ((file === undefined) === (options.pdf === undefined)) {
        throw new CliError('give one page of text (a file, or - for standard input) or --pdf <file>', ExitCode.usage);
      }
      if (options.pdf !== undefined) return extractPdf(options.pdf, options.json === true);
      const text = readPageText(file!);
      const [page] = extractDocument([text]);
      if (options.json) return printJson(page);
      printPage(page!);
    });
}

function readPageText(file: string): string {
  if (file === '-') return fs.readFileSync(0, 'utf8');
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw new CliError(`no such file: ${file}`, ExitCode.usage);
  return fs.readFileSync(file, 'utf8');
}

async function extractPdf(pdfPath: string, json: boolean): Promise<void> {
  if (!fs.existsSync(pdfPath) || !fs.statSync(pdfPath).isFile()) throw new CliError(`no such file: ${pdfPath}`, ExitCode.usage);
  let layer;
  try {
    layer = await readTextLayer(pdfPath, { timeoutMs: PDF_TIMEOUT_MS });
  } catch (error) {
    if (error instanceof PermanentPdfError) throw new CliError(`cannot read ${pdfPath}: ${error.message}`, ExitCode.usage);
    throw error;
  }
  const readable = layer.pages.filter((p) => p.usable);
  const extracted = extractDocument(
    readable.map((p) => p.text),
    { pageNumbers: readable.map((p) => p.page) },
  );
  const byPage = new Map(readable.map((p, i) => [p.page, extracted[i]!]));
  const pages: ExtractedPage[] = layer.pages.map((p) => ({
    page: p.page,
    textLayer: p.usable,
    ...(byPage.get(p.page) ?? { entities: { persons: [], orgs: [], locations: [] }, votes: [] }),
  }));
  const missing = pages.filter((p) => !p.textLayer).map((p) => p.page);
  if (missing.length > 0) {
    console.error(
      `clerk extract: ${missing.length === 1 ? 'page' : 'pages'} ${missing.join(', ')} of ${layer.pageCount} ${missing.length === 1 ? 'has' : 'have'} no usable text layer and ${missing.length === 1 ? 'was' : 'were'} not read: this command does not OCR (the pipeline does)`,
    );
  }
  if (json) return printJson({ file: pdfPath, pageCount: layer.pageCount, pages });
  for (const page of pages) {
    console.log(`== page ${page.page}${page.textLayer ? '' : ' (no text layer: not read)'}`);
    if (page.textLayer) printPage(page);
  }
}

function printPage(page: PageExtraction): void {
  const list = (values: readonly string[]) => (values.length === 0 ? '-' : values.join('; '));
  console.log(`persons:   ${list(page.entities.persons)}`);
  console.log(`orgs:      ${list(page.entities.orgs)}`);
  console.log(`locations: ${list(page.entities.locations)}`);
  if (page.votes.length === 0) {
    console.log('votes:     -');
    return;
  }
  console.log('votes:');
  page.votes.forEach((vote, i) => {
    const { ayes, nays, abstain, absent } = vote.tally;
    const by = [vote.motion_by && `moved by ${vote.motion_by}`, vote.seconded_by && `seconded by ${vote.seconded_by}`].filter(Boolean).join(', ');
    console.log(`  ${i + 1}. page ${vote.page}: ${vote.result} ${ayes}-${nays}-${abstain}-${absent} (ayes-nays-abstain-absent)${by ? `; ${by}` : ''}`);
    if (vote.motion) console.log(`     motion: ${vote.motion}`);
    for (const choice of ['aye', 'nay', 'abstain', 'absent'] as const) {
      const names = vote.individual_votes.filter((v) => v.vote === choice).map((v) => v.name);
      if (names.length > 0) console.log(`     ${choice}: ${names.join(', ')}`);
    }
  });
}
