/** What an aborted OCR call rejects with: the caller's own reason when it gave one (Temporal does). */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The OCR was aborted.', 'AbortError');
}
