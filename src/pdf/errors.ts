import path from 'node:path';

export type PermanentPdfReason =
  | 'corrupt'
  | 'encrypted'
  | 'empty'
  | 'not-pdf'
  | 'too-large'
  | 'renderer-crashed'
  | 'renderer-timeout';

/**
 * A PDF that will fail the same way every time it is tried: callers record the reason and stop
 * retrying. Anything not worth a permanent verdict (a full disk, a missing tool) stays a plain Error.
 */
export class PermanentPdfError extends Error {
  override readonly name = 'PermanentPdfError';

  constructor(
    readonly reason: PermanentPdfReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const explanations: Record<PermanentPdfReason, string> = {
  corrupt: 'is damaged and cannot be parsed; download it again, or ask the publisher for an intact copy',
  encrypted: 'is password-protected; ask the publisher for a copy without a password',
  empty: 'has no pages (or no bytes at all); the download probably failed at the source, so fetch it again later',
  'not-pdf': 'is not a PDF; the site most likely served an error or login page in its place',
  'too-large': 'is too large to process safely; split it into smaller files or raise the limit',
  'renderer-crashed': 'crashed the PDF renderer; the file probably triggers a bug in it, so try another renderer or a re-saved copy',
  'renderer-timeout': 'took too long to process and the renderer was stopped; the file is probably pathological, so try a re-saved copy or a longer timeout',
};

/** The standard, actionable sentence for a reason, naming the file and adding any detail. */
export function permanentPdfError(reason: PermanentPdfReason, pdfPath: string, detail?: string, cause?: unknown): PermanentPdfError {
  const sentence = `The file ${path.basename(pdfPath)} ${explanations[reason]}.`;
  return new PermanentPdfError(reason, detail ? `${sentence} (${detail})` : sentence, { cause });
}
