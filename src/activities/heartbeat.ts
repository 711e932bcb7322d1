import { Context } from '@temporalio/activity';

/**
 * Heartbeats on a timer while `work` runs. The CPU-heavy part runs in a subprocess or worker
 * thread, so this event loop stays free to report liveness and to receive cancellation.
 */
export async function withHeartbeats<T>(work: () => Promise<T>, everyMs = 5_000): Promise<T> {
  const context = Context.current();
  context.heartbeat();
  const timer = setInterval(() => context.heartbeat(), everyMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
