import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure, TimeoutFailure } from '@temporalio/workflow';

export interface FailureDescription {
  reason: string;
  error: string;
}

/**
 * Turns a failed activity or child into the reason recorded on its page or document. Activities
 * put a short reason (corrupt, encrypted, renderer-crashed, ...) in the failure's details.
 */
export function describeFailure(error: unknown): FailureDescription {
  let cause: unknown = error;
  while (cause instanceof ActivityFailure || cause instanceof ChildWorkflowFailure) {
    if (!cause.cause) break;
    cause = cause.cause;
  }
  if (cause instanceof ApplicationFailure) {
    const detail = cause.details?.[0] as { reason?: string } | undefined;
    return { reason: detail?.reason ?? cause.type ?? 'error', error: cause.message };
  }
  if (cause instanceof TimeoutFailure) return { reason: 'timeout', error: cause.message };
  if (cause instanceof Error) return { reason: 'error', error: cause.message };
  return { reason: 'error', error: String(cause) };
}
