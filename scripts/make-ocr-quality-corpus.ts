/**
 * Writes the OCR quality corpus (scans with ground truth, and each as an image-only PDF) into a
 * folder, to look at or to OCR by hand; the benchmark generates and caches its own copy.
 *
 *   tsx scripts/make-ocr-quality-corpus.ts [outDir, default .clerk/ocr-quality-corpus]
 */
import path from 'node:path';
import { writeQualityCorpus } from '../bench/support/ocr-quality-corpus.js';

const outDir = path.resolve(process.argv[2] ?? '.clerk/ocr-quality-corpus');
const pages = await writeQualityCorpus(outDir);
for (const page of pages) console.log(`${page.id.padEnd(12)} ${page.type.padEnd(14)} ${page.sourceImage.padEnd(24)} ${page.pdf}  (${page.description})`);
console.log(`wrote ${pages.length} pages to ${outDir}`);
