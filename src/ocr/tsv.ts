/** What a page's tesseract TSV says about the reading as a whole. */
export interface TsvSummary {
  /** Words tesseract recognised (level-5 rows with text). */
  words: number;
  /** Mean word confidence, 0-100; null when there are no words. */
  confidence: number | null;
  /** Share of words of three letters or more whose box is taller than wide: text standing on end. */
  tallShare: number;
}

/**
 * Reads tesseract's TSV output (`level page_num block_num par_num line_num word_num left top
 * width height conf text`): every word row (level 5) with text counts, with its confidence.
 */
export function readTesseractTsv(tsv: string): TsvSummary {
  let words = 0;
  let confidenceSum = 0;
  let longWords = 0;
  let tall = 0;
  for (const line of tsv.split('\n')) {
    const fields = line.split('\t');
    if (fields[0] !== '5' || fields.length < 12) continue;
    const text = fields.slice(11).join('\t').trim();
    const conf = Number(fields[10]);
    if (!text || !(conf >= 0)) continue;
    words++;
    confidenceSum += conf;
    if (text.length >= 3) {
      longWords++;
      if (Number(fields[9]) > Number(fields[8])) tall++;
    }
  }
  return { words, confidence: words ? confidenceSum / words : null, tallShare: longWords ? tall / longWords : 0 };
}
