import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { stageOf } from '../activities/tracking.js';

/**
 * Puts the activity's site and stage on every log line logged during it: the SDK's own ("Activity
 * failed") as well as clerk's. Every clerk activity takes `{ subdomain, ... }` as its one argument
 * and names its stage through tracked(); the SDK asks for log attributes on each line, so what is
 * learnt at execute is there for all of them.
 */
export const siteLogAttributes: ActivityInterceptorsFactory = (context) => {
  let subdomain: string | undefined;
  return {
    inbound: {
      execute(input, next) {
        const first = input.args[0] as { subdomain?: unknown } | undefined;
        if (typeof first?.subdomain === 'string') subdomain = first.subdomain;
        return next(input);
      },
    },
    outbound: {
      getLogAttributes(input, next) {
        const stage = stageOf(context);
        return next({ ...(subdomain === undefined ? {} : { subdomain }), ...(stage === undefined ? {} : { stage }), ...input });
      },
    },
  };
};

/** How long a `--max-tasks` worker waits with nothing to do before it decides its queue is empty. */
export const BURST_IDLE_MS = 10_000;

export type BurstEnd = { reason: 'max-tasks'; tasks: number } | { reason: 'idle'; tasks: number; idleMs: number };

/**
 * The original's `worker --burst`, for `--max-tasks N`: the process stops taking tasks once N
 * activity attempts have ended (succeeded or failed: a failing queue must not keep a burst worker
 * alive), or once it has run no activity for `idleMs` (none running, none started or ended), which
 * is how a worker sees that its queue is empty. `onEnd` is called once; the caller then drains the
 * workers, so attempts already running when it fires finish first.
 */
export class TaskBudget {
  private ended = 0;
  private running = 0;
  private lastBusyAt = Date.now();
  private done = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly maxTasks: number,
    private readonly onEnd: (end: BurstEnd) => void,
    private readonly idleMs: number = BURST_IDLE_MS,
  ) {}

  readonly interceptor: ActivityInterceptorsFactory = () => ({
    inbound: {
      execute: async (input, next) => {
        this.running++;
        this.lastBusyAt = Date.now();
        try {
          return await next(input);
        } finally {
          this.running--;
          this.ended++;
          this.lastBusyAt = Date.now();
          if (this.ended >= this.maxTasks) this.finish({ reason: 'max-tasks', tasks: this.ended });
        }
      },
    },
  });

  /** Starts the idle clock: call once the workers poll. */
  start(): void {
    this.lastBusyAt = Date.now();
    this.timer = setInterval(() => {
      if (this.running === 0 && Date.now() - this.lastBusyAt >= this.idleMs) this.finish({ reason: 'idle', tasks: this.ended, idleMs: this.idleMs });
    }, Math.min(1_000, this.idleMs));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private finish(end: BurstEnd): void {
    if (this.done) return;
    this.done = true;
    this.stop();
    this.onEnd(end);
  }
}
