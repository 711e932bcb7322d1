import { isNativeTesseractAvailable, NativeTesseractEngine } from './native-tesseract.js';
import { TesseractJsEngine } from './tesseract-js.js';

export type OcrEngineName = 'tesseract' | 'tesseract.js';

/** Reads the text of one page image. Implementations never block the caller's event loop. */
export interface OcrEngine {
  readonly name: OcrEngineName;
  /** The page's text from a binary PGM; an aborted signal stops the work and rejects with its reason. */
  recognize(pgmPath: string, options?: { signal?: AbortSignal }): Promise<string>;
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
