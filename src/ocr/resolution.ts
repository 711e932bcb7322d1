import { MAX_RENDER_SIDE, type PageSizePoints } from '../pdf/render-budget.js';

/** Scans coarser than this are rendered at the configured dpi instead: OCR reads tiny text better upsampled. */
export const MIN_SCAN_PPI = 100;

/**
 * The resolution to OCR a page at: a scan's own (`scanPpi`, from the text-layer pass), so OCR
 * reads the scanned pixels as they are, up to `maxScanDpi`; any other page at `defaultDpi`.
 * The render budget (render-budget.ts) may still lower it for an enormous page.
 */
export function ocrResolution(scanPpi: number | null | undefined, defaultDpi: number, maxScanDpi: number): number {
  if (scanPpi && Number.isFinite(scanPpi) && scanPpi >= MIN_SCAN_PPI) return Math.min(Math.round(scanPpi), maxScanDpi);
  return defaultDpi;
}

export type PageImagePlan = { source: 'scan'; dpi: number } | { source: 'render'; dpi: number };

/**
 * Where a page's image for OCR comes from. A scan whose resolution is within bounds and whose
 * image fits the render budget is taken out as it is (the scanner's own pixels); anything else is
 * rendered, a scan at its own resolution or less, another page at `defaultDpi` (the renderer then
 * fits it into the budget). `extractScans` false (an explicitly chosen renderer) renders every page.
 */
export function planPageImage(
  page: { scanPpi: number | null | undefined; size: PageSizePoints | undefined },
  options: { defaultDpi: number; maxScanDpi: number; maxPixels: number; extractScans: boolean },
): PageImagePlan {
  const dpi = ocrResolution(page.scanPpi, options.defaultDpi, options.maxScanDpi);
  const { scanPpi, size } = page;
  if (!options.extractScans || !scanPpi || !size || dpi !== Math.round(scanPpi)) return { source: 'render', dpi };
  const widthPx = (size.width / 72) * scanPpi;
  const heightPx = (size.height / 72) * scanPpi;
  const fits = widthPx * heightPx <= options.maxPixels && Math.max(widthPx, heightPx) <= MAX_RENDER_SIDE;
  return fits ? { source: 'scan', dpi } : { source: 'render', dpi };
}
