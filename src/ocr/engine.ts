import { isNativeTesseractAvailable, NativeTesseractEngine } from './native-tesseract.js';
import { TesseractJsEngine } from './tesseract-js.js';

export type OcrEngineName = 'tesseract' | 'tesseract.js';

export interface OcrOptions {
  signal?: AbortSignal;
  /** The image's resolution in pixels per inch, so tesseract need not guess it. */
  dpi?: number;
  /** Tesseract language codes (['eng', 'spa']); default English. */
  languages?: readonly string[];
}

export interface OcrResult {
  text: string;
  /** Mean word confidence, 0-100 (tesseract's TSV); null when no word was found. */
  confidence: number | null;
  words: number;
  /** Clockwise degrees the image was turned to read it upright; null when the engine cannot tell. */
  rotation: number | null;
}

/** Reads the text of one page image. Implementations never block the caller's event loop. */
export interface OcrEngine {
  readonly name: OcrEngineName;
  /**
   * The page's text from an image (a binary PGM from the renderers; tesseract also reads PNG,
   * JPEG, TIFF); an aborted signal stops the work and rejects with its reason. A language with
   * no model installed rejects with OcrLanguageUnavailableError.
   */
  recognize(imagePath: string, options?: OcrOptions): Promise<OcrResult>;
  /** Stops any work in flight and frees the engine's process or thread. */
  close(): Promise<void>;
}

/**
 * 'auto' prefers the native tesseract binary (several times faster per page) when it is installed
 * with English, and falls back to tesseract.js, which needs nothing beyond node_modules.
 */
export async function createOcrEngine(kind: 'auto' | OcrEngineName): Promise<OcrEngine> {
  const native = kind === 'tesseract' || (kind === 'auto' && (await isNativeTesseractAvailable()));
  if (!native) return TesseractJsEngine.create();
  if (!(await isNativeTesseractAvailable())) {
    throw new Error('The tesseract OCR engine was requested but `tesseract` with English data is not installed; install tesseract-ocr and tesseract-ocr-eng, or choose tesseract.js.');
  }
  return new NativeTesseractEngine();
}
