/**
 * OCR languages and page segmentation: what both engines are told besides the image.
 */

export const DEFAULT_OCR_LANGUAGES: readonly string[] = ['eng'];

/**
 * Tesseract's page segmentation mode: 3, fully automatic layout analysis without OSD. Chosen by
 * measurement on the OCR quality corpus (docs/BENCHMARKS.md): 3 keeps multi-column pages in
 * reading order (4 and 6 read across the columns and lose it), and it costs about 7% less CPU
 * than 1 (the same with OSD on every page); orientation is checked only for pages that read
 * badly (native-tesseract.ts).
 */
export const OCR_PAGE_SEGMENTATION = 3;

const LANGUAGE_CODE = /^[a-z][a-z_]{1,15}$/;

/** Languages from a site's `ocr_languages` setting ("eng+spa"); unset or empty means English. */
export function parseOcrLanguages(setting: string | undefined | null): string[] {
  const languages = (setting ?? '').split('+').map((code) => code.trim()).filter(Boolean);
  for (const code of languages) {
    if (!LANGUAGE_CODE.test(code)) throw new RangeError(`"${code}" is not a tesseract language code (like eng, spa, fra)`);
  }
  return languages.length > 0 ? [...new Set(languages)] : [...DEFAULT_OCR_LANGUAGES];
}

export function resolveLanguages(languages: readonly string[] | undefined): string[] {
  return languages && languages.length > 0 ? [...languages] : [...DEFAULT_OCR_LANGUAGES];
}

/** A site asks for a language the OCR engine has no data for: nothing will change until it is installed. */
export class OcrLanguageUnavailableError extends Error {
  override readonly name = 'OcrLanguageUnavailableError';

  constructor(
    readonly languages: string[],
    message: string,
  ) {
    super(message);
  }
}

export function missingLanguageError(missing: string[], engine: 'tesseract' | 'tesseract.js'): OcrLanguageUnavailableError {
  const list = missing.join(', ');
  if (engine === 'tesseract') {
    const packages = missing.map((lang) => `tesseract-ocr-${lang.replace(/_/g, '-')}`).join(' ');
    return new OcrLanguageUnavailableError(missing, `OCR language ${list} is not installed for tesseract; install it (Debian/Ubuntu: apt-get install ${packages}) and run the site again.`);
  }
  return new OcrLanguageUnavailableError(
    missing,
    `OCR language ${list} has no tesseract.js data package (@tesseract.js-data/${missing[0]}) in node_modules; this language needs native tesseract: install tesseract-ocr and tesseract-ocr-${missing[0]}, or add the npm package if it exists.`,
  );
}
