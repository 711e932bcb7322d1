import { CancellationScope, condition, isCancellation } from '@temporalio/workflow';

/**
 * A sliding window: at most `size` tasks in flight, a new one starting as soon as one settles.
 * Keeps every workflow far below the server's 2,000 pending activities or children.
 * Tasks handle their own expected failures; an unexpected one is rethrown by the next call.
 * When the workflow is cancelled, a waiting call first lets the tasks in flight settle (they see
 * the cancellation themselves), so a cancelled workflow never closes with work still running.
 */
export class SlidingWindow {
  private inFlight = 0;
  private failure: unknown = undefined;

  constructor(private readonly size: number) {}

  /** Waits for a free slot, then starts `task` without waiting for it to finish. */
  async start(task: () => Promise<void>): Promise<void> {
    await this.settlingOnCancel(condition(() => this.inFlight < this.size || this.failure !== undefined));
    this.throwIfFailed();
    this.inFlight++;
    task()
      .catch((error: unknown) => {
        this.failure ??= error;
      })
      .finally(() => this.inFlight--);
  }

  async drain(): Promise<void> {
    await this.settlingOnCancel(condition(() => this.inFlight === 0));
    this.throwIfFailed();
  }

  private async settlingOnCancel(waiting: Promise<void>): Promise<void> {
    try {
      await waiting;
    } catch (error) {
      if (isCancellation(error)) await CancellationScope.nonCancellable(() => condition(() => this.inFlight === 0));
      throw error;
    }
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}
