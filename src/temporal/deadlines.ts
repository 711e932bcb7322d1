import type { ClerkConfig } from '../config/index.js';

// How long clerk's commands wait for Temporal, and what they say when it does not answer.

/** Reaching the server, before a command gives up with TemporalUnreachableError. */
export const CONNECT_TIMEOUT_MS = 5_000;

/** The site workflow's status query: only a worker polling the workflows queue answers it. */
export const STATUS_QUERY_TIMEOUT_MS = 5_000;

export class TemporalUnreachableError extends Error {
  override name = 'TemporalUnreachableError';
}

/** The error every command gives when the Temporal server does not answer; `cause` is the client's reason. */
export function temporalUnreachable(config: ClerkConfig, cause: unknown): TemporalUnreachableError {
  return new TemporalUnreachableError(
    `cannot reach the Temporal server at ${config.temporal.address} (${(cause as Error).message}); start the local stack with \`clerk dev up\` or set TEMPORAL_ADDRESS`,
  );
}
