/** What the delivery function needs of a pacer. */
export interface SendPacer {
  /** How long from now until the next call may start. */
  delay(): number;
  /** Resolves when the next call may start. */
  wait(): Promise<void>;
  /** Tells the pacer the call is leaving now (it may start later than its slot: a slow claim). */
  started(): void;
  /** Tells the pacer the call started by the last `wait()` has been answered. */
  answered(): void;
  /** Pushes the next call back after a throttle or a server error (exponential backoff). */
  backOff(attempt: number): void;
}

/**
 * Spaces SendBounce calls so that they reach SES no faster than `ratePerSecond`, across batches
 * for as long as the container lives: calls are booked one interval (plus a small margin for
 * arrival jitter) apart, and a call that starts late (a slow DynamoDB read, a batch boundary)
 * lets the next ones catch up by what the margin leaves unused of the per-second budget (about
 * one call at 50/s, none at SES's 1/s). Two things need more: a new container cannot
 * know when the previous one last sent, so its first call waits one interval; and that first
 * call opens the connection and reaches SES late by the handshake, so the next one waits a full
 * interval from its answer. At under two calls a second SES allows no two calls closer than one
 * interval whatever the second holds, so a call that leaves late pushes the next one back.
 */
export class Pacer implements SendPacer {
  private readonly strictGapMs: number;
  private readonly intervalMs: number;
  private readonly catchUpMs: number;
  /** When the next call is due if every call had started on time. */
  private dueAt: number;
  private firstAnswered = false;

  constructor(
    ratePerSecond: number,
    private readonly clock: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {
    this.intervalMs = (1000 / ratePerSecond) * (1 + PACING_MARGIN);
    // Calls the margin leaves unused in any second, less half a call of slack for jitter.
    const spareCalls = Math.floor(ratePerSecond) - ratePerSecond / (1 + PACING_MARGIN) - 0.5;
    this.catchUpMs = Math.max(0, spareCalls) * this.intervalMs;
    this.strictGapMs = ratePerSecond < 2 ? this.intervalMs : 0;
    this.dueAt = clock() + this.intervalMs + this.catchUpMs;
  }

  /** How long from now until the next call may start. */
  delay(): number {
    return Math.max(0, this.dueAt - this.catchUpMs - this.clock());
  }

  /** Resolves when the next call may start. */
  async wait(): Promise<void> {
    const now = this.clock();
    const at = Math.max(now, this.dueAt - this.catchUpMs);
    if (at > now) await this.sleep(at - now);
    this.dueAt = Math.max(at, this.dueAt) + this.intervalMs;
  }

  /** Tells the pacer the call is leaving now (it may start later than its slot: a slow claim). */
  started(): void {
    this.dueAt = Math.max(this.dueAt, this.clock() + this.strictGapMs);
  }

  /** Tells the pacer the call started by the last `wait()` has been answered. */
  answered(): void {
    if (this.firstAnswered) return;
    this.firstAnswered = true;
    this.dueAt = Math.max(this.dueAt, this.clock() + this.intervalMs + this.catchUpMs);
  }

  /** Pushes the next call back after a throttle or a server error (exponential backoff). */
  backOff(attempt: number): void {
    const delay = Math.min(MAX_BACKOFF_MS, this.intervalMs * 2 ** attempt);
    this.dueAt = Math.max(this.dueAt, this.clock() + delay + this.catchUpMs);
  }
}

/** 3 % under the limit: ≥ 95 % of it, with room for a few milliseconds of arrival jitter at 50 calls/s. */
export const PACING_MARGIN = 0.03;
const MAX_BACKOFF_MS = 8000;
