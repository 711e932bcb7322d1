/**
 * Character and word error rates of OCR output against ground truth, the usual way: the edit
 * (Levenshtein) distance divided by the length of the ground truth. Both texts are normalised
 * first, so only reading mistakes count, not typography: Unicode compatibility forms (ligatures),
 * curly quotes and dashes as their ASCII forms, and every run of whitespace (line breaks
 * included) as one space.
 */

export interface Accuracy {
  /** Character error rate: character edits / ground-truth characters. */
  cer: number;
  /** Word error rate: word edits / ground-truth words. */
  wer: number;
  /**
   * Order-free word error: the share of ground-truth words missing from the output as a multiset.
   * Close to `wer` when the words come in the right order; far below it when the right words come
   * in the wrong order (columns read across, a table read down).
   */
  bagOfWordsError: number;
  /** The words are there but in the wrong order: wer exceeds bagOfWordsError by more than ORDER_LOSS_MARGIN. */
  readingOrderLost: boolean;
  groundTruthChars: number;
  groundTruthWords: number;
}

/** How much worse the in-order word error may be than the order-free one before order counts as lost. */
export const ORDER_LOSS_MARGIN = 0.15;

export function normalizeForScoring(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/[\u2018\u2019\u201a\u201b\u2032]/g, "'")
    .replace(/[\u201c\u201d\u201e\u201f\u2033]/g, '"')
    .replace(/[\u2010-\u2015\u2212]/g, '-')
    .replace(/\s+/g, ' ')
    .trim();
}

export function scoreText(output: string, groundTruth: string): Accuracy {
  const hyp = normalizeForScoring(output);
  const ref = normalizeForScoring(groundTruth);
  const hypWords = hyp ? hyp.split(' ') : [];
  const refWords = ref ? ref.split(' ') : [];
  const cer = ref.length ? editDistance([...hyp], [...ref]) / ref.length : hyp.length ? 1 : 0;
  const wer = refWords.length ? editDistance(hypWords, refWords) / refWords.length : hypWords.length ? 1 : 0;
  const bagOfWordsError = refWords.length ? 1 - multisetOverlap(hypWords, refWords) / refWords.length : 0;
  return {
    cer,
    wer,
    bagOfWordsError,
    readingOrderLost: wer - bagOfWordsError > ORDER_LOSS_MARGIN,
    groundTruthChars: ref.length,
    groundTruthWords: refWords.length,
  };
}

/** Levenshtein distance over any sequence, in O(n·m) time and O(m) memory. */
export function editDistance<T>(a: readonly T[], b: readonly T[]): number {
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  let previous = new Uint32Array(b.length + 1);
  let current = new Uint32Array(b.length + 1);
  for (let j = 0; j <= b.length; j++) previous[j] = j;
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    const ai = a[i - 1];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (ai === b[j - 1] ? 0 : 1);
      current[j] = Math.min(substitution, previous[j]! + 1, current[j - 1]! + 1);
    }
    [previous, current] = [current, previous];
  }
  return previous[b.length]!;
}

function multisetOverlap(a: readonly string[], b: readonly string[]): number {
  const counts = new Map<string, number>();
  for (const word of a) counts.set(word, (counts.get(word) ?? 0) + 1);
  let overlap = 0;
  for (const word of b) {
    const n = counts.get(word) ?? 0;
    if (n > 0) {
      overlap++;
      counts.set(word, n - 1);
    }
  }
  return overlap;
}
