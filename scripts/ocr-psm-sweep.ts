/**
 * Reads the OCR quality corpus's source images with plain tesseract at several page segmentation
 * modes and prints CER, WER and reading order per page: how OCR_PAGE_SEGMENTATION was chosen
 * (docs/BENCHMARKS.md, OCR quality). Generates the corpus first if it is not cached.
 *
 *   tsx scripts/ocr-psm-sweep.ts [modes, default 1,3,4,6]
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { cachedQualityCorpus } from '../bench/support/ocr-quality-corpus.js';
import { scoreText } from '../bench/support/text-accuracy.js';

const modes = (process.argv[2] ?? '1,3,4,6').split(',');
const corpus = await cachedQualityCorpus((line) => console.error(line));
for (const psm of modes) {
  let cerSum = 0;
  let upright = 0;
  const lines: string[] = [];
  for (const page of corpus.pages.filter((p) => p.type !== 'blank')) {
    const text = execFileSync('tesseract', [path.join(corpus.dir, page.sourceImage), 'stdout', '-l', 'eng', '--psm', psm], {
      env: { ...process.env, OMP_THREAD_LIMIT: '1' },
      stdio: ['ignore', 'pipe', 'ignore'],
    }).toString();
    const score = scoreText(text, page.groundTruth);
    if (page.type !== 'rotated') {
      cerSum += score.cer;
      upright++;
    }
    lines.push(`  ${page.id.padEnd(12)} cer ${score.cer.toFixed(4)}  wer ${score.wer.toFixed(4)}  ${score.readingOrderLost ? 'ORDER LOST' : 'order kept'}`);
  }
  console.log(`psm ${psm}: mean CER over ${upright} upright pages ${(cerSum / upright).toFixed(4)}`);
  console.log(lines.join('\n'));
}
