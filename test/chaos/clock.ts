// A clock a test moves by hand, for the fakes that take `now()` (visibility timeouts, delays,
// the 5-minute deduplication window) so that no test has to sleep through them.

export interface ManualClock {
  /** The current time in epoch milliseconds; pass this function as a fake's `now`. */
  readonly now: () => number;
  advance(ms: number): void;
  set(epochMs: number): void;
}

/** @param start epoch ms; a fixed default keeps runs reproducible. */
export function createManualClock(start = Date.UTC(2024, 0, 1)): ManualClock {
  let time = start;
  return {
    now: () => time,
    advance: (ms) => {
      if (!(ms >= 0)) throw new RangeError(`time only moves forward, got ${ms} ms`);
      time += ms;
    },
    set: (epochMs) => {
      time = epochMs;
    },
  };
}
