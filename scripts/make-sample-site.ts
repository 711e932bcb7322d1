/**
 * Writes the sample municipality (or, with --bad, the bad corpus) into a folder and prints what it wrote.
 *
 *   tsx scripts/make-sample-site.ts [outDir] [--bad] [--pages N]
 *
 * outDir defaults to .clerk/sample-site (.clerk/bad-corpus with --bad). --pages sets the page
 * count of the bad corpus's very long document (default 300).
 */
import path from 'node:path';
import { writeBadCorpusSite } from '../src/samples/bad-corpus.js';
import { writeSampleSite } from '../src/samples/sample-site.js';

function usage(message?: string): never {
  if (message) console.error(message);
  console.error('usage: tsx scripts/make-sample-site.ts [outDir] [--bad] [--pages N]');
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  let bad = false;
  let largePageCount: number | undefined;
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--bad') bad = true;
    else if (arg === '--pages') {
      const value = Number(argv[++i]);
      if (!Number.isInteger(value) || value < 1) usage('--pages needs a whole number of 1 or more');
      largePageCount = value;
    } else if (arg === '-h' || arg === '--help') usage();
    else if (arg.startsWith('-')) usage(`unknown option ${arg}`);
    else positional.push(arg);
  }
  if (positional.length > 1) usage('at most one outDir');
  const outDir = path.resolve(positional[0] ?? (bad ? '.clerk/bad-corpus' : '.clerk/sample-site'));

  if (bad) {
    const manifest = await writeBadCorpusSite(outDir, largePageCount === undefined ? {} : { largePageCount });
    console.log(`bad corpus for ${manifest.subdomain} written to ${outDir}`);
    for (const d of manifest.documents) {
      const outcome = d.expected === 'ok' ? `ok, ${d.pageCount} page(s)` : `failed (${d.expectedReason})`;
      console.log(`  ${d.defect.padEnd(16)} ${outcome.padEnd(20)} ${d.path}`);
    }
    console.log(`${manifest.okDocuments} documents should succeed (${manifest.okPages} pages), ${manifest.failedDocuments} should fail`);
  } else {
    const manifest = await writeSampleSite(outDir);
    console.log(`sample site for ${manifest.subdomain} written to ${outDir}`);
    for (const d of manifest.documents) {
      console.log(`  ${d.kind.padEnd(8)} ${d.meeting.padEnd(15)} ${d.date}  ${String(d.pageCount).padStart(2)} page(s)${d.scanned ? '  scanned' : ''}  ${d.path}`);
    }
    console.log(`${manifest.documents.length} documents, ${manifest.totalPages} pages (${manifest.scannedPages} scanned); OCR-only word: ${manifest.ocrOnlyWord}`);
    console.log(`index: ${path.join(outDir, manifest.indexPath)}`);
  }
}

await main(process.argv.slice(2));
