/**
 * Spaces calls at most `ratePerSecond` apart, across batches for as long as the container
 * lives. A new container cannot know when the previous one last sent, so its first call waits
 * one interval too. A small margin keeps arrival jitter from tripping SES's rate limiter.
 */
export class Pacer {
  private readonly intervalMs: number;
  private nextAt: number;

  constructor(
    ratePerSecond: number,
    private readonly clock: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {
    this.intervalMs = (1000 / ratePerSecond) * (1 + PACING_MARGIN);
    this.nextAt = clock() + this.intervalMs;
  }

  /** Resolves when the next call may start, and books the slot after it. */
  async wait(): Promise<void> {
    const now = this.clock();
    const at = Math.max(now, this.nextAt);
    if (at > now) await this.sleep(at - now);
    this.nextAt = at + this.intervalMs;
  }

  /** Pushes the next slot back, after a throttle or a server error (exponential backoff). */
  backOff(attempt: number): void {
    const delay = Math.min(MAX_BACKOFF_MS, this.intervalMs * 2 ** attempt);
    this.nextAt = Math.max(this.nextAt, this.clock() + delay);
  }
}

/** 3 % under the limit: ≥ 95 % of it, with room for a few milliseconds of jitter at 50 calls/s. */
export const PACING_MARGIN = 0.03;
const MAX_BACKOFF_MS = 8000;
