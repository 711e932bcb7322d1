import { Context } from '@temporalio/activity';

/**
 * Heartbeats on a timer while `work` runs. The CPU-heavy part runs in a subprocess or worker
 * thread, so this event loop stays free to report liveness and to receive cancellation.
 *
 * The first heartbeat comes after `everyMs`, not at once: the server times an attempt's heartbeat
 * timeout from its start anyway, and most attempts (an OCR page takes about a second) end before
 * the first beat, so each saves a round trip to the server that took CPU from OCR on a small machine.
 */
export async function withHeartbeats<T>(work: () => Promise<T>, everyMs = 5_000): Promise<T> {
  const context = Context.current();
  const timer = setInterval(() => context.heartbeat(), everyMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
