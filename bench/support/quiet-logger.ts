import type { Logger } from '@temporalio/common';

/**
 * For the benchmarks' in-process workers and activities: they log every start and end at info
 * level, and a benchmark's output would drown. Errors still show.
 */
export const quietLogger: Logger = {
  log() {},
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error(message: string) {
    console.error(message);
  },
};
