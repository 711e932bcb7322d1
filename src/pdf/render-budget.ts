import { permanentPdfError } from './errors.js';

/**
 * How big a rendered page may get, by default (CLERK_OCR_MAX_MEGAPIXELS). A PDF page can be up to
 * 200 x 200 inches, which at 200 dpi is a 1.6 GB image that no OCR engine reads; a broken MediaBox
 * can claim that size for a letter page. A 36 x 48 inch plan sheet at 200 dpi (69 million pixels)
 * still fits as it is.
 */
export const MAX_RENDER_PIXELS = 80_000_000;
/** Tesseract refuses images wider or taller than 32,767 pixels. */
export const MAX_RENDER_SIDE = 32_000;
/** Below this, OCR reads noise rather than words, so a smaller render is not worth making. */
export const MIN_OCR_DPI = 50;

export interface PageSizePoints {
  width: number;
  height: number;
}

/**
 * The resolution to render a page at: the requested dpi, or, for a page too big for it, the
 * highest dpi that stays within the pixel budget. Null when even MIN_OCR_DPI would not fit.
 */
export function fitRenderDpi(page: PageSizePoints, requestedDpi: number, maxPixels = MAX_RENDER_PIXELS): number | null {
  const widthInches = page.width / 72;
  const heightInches = page.height / 72;
  const fittingDpi = Math.min(Math.sqrt(maxPixels / (widthInches * heightInches)), MAX_RENDER_SIDE / Math.max(widthInches, heightInches));
  const dpi = Math.min(requestedDpi, Math.floor(fittingDpi));
  return dpi >= MIN_OCR_DPI || dpi === requestedDpi ? dpi : null;
}

/** The page is too big to render even at the lowest resolution worth OCRing. */
export function pageTooLargeError(pdfPath: string, pageNumber: number, page: PageSizePoints, requestedDpi: number, maxPixels = MAX_RENDER_PIXELS): Error {
  const size = `${(page.width / 72).toFixed(1)} x ${(page.height / 72).toFixed(1)} in`;
  return permanentPdfError('too-large', pdfPath, `page ${pageNumber} is ${size}; at ${requestedDpi} dpi, or at any resolution OCR can read, it is over the ${maxPixels / 1e6}-megapixel render limit`);
}
