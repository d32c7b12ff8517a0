// A small seeded PRNG (mulberry32) for chaos schedules: a failing run prints its seed, and the
// same seed replays the same schedule. Not for anything cryptographic.

export interface Rng {
  /** The seed this generator started from; print it so a failing schedule can be replayed. */
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n); n must be a positive integer. */
  int(n: number): number;
  /** A uniformly chosen element; the array must not be empty. */
  pick<T>(items: readonly T[]): T;
  /** True with probability p (0 never, 1 always). */
  chance(p: number): boolean;
  /** A new array with the items in random order (Fisher–Yates). */
  shuffle<T>(items: readonly T[]): T[];
}

export function createRng(seed: number): Rng {
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  // Kept as an unsigned 32-bit state so any integer seed (negative, > 2^32) works the same way.
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`int(n) needs a positive integer, got ${n}`);
    return Math.floor(next() * n);
  };
  return {
    seed,
    next,
    int,
    pick: <T>(items: readonly T[]): T => {
      if (items.length === 0) throw new RangeError('pick() from an empty array');
      return items[int(items.length)]!;
    },
    chance: (p: number): boolean => {
      if (!(p >= 0 && p <= 1)) throw new RangeError(`chance(p) needs 0 <= p <= 1, got ${p}`);
      // `<` keeps chance(0) always false and chance(1) always true, as next() is in [0, 1).
      return next() < p;
    },
    shuffle: <T>(items: readonly T[]): T[] => {
      const copy = [...items];
      for (let i = copy.length - 1; i > 0; i--) {
        const j = int(i + 1);
        [copy[i], copy[j]] = [copy[j]!, copy[i]!];
      }
      return copy;
    },
  };
}

/**
 * The seed for a chaos run: `CHAOS_SEED` when set (to replay a failure), otherwise a fresh one.
 * Print it in the test's failure message.
 */
export function chaosSeed(env: NodeJS.ProcessEnv = process.env): number {
  const fromEnv = env['CHAOS_SEED'];
  if (fromEnv !== undefined && fromEnv !== '') {
    const seed = Number(fromEnv);
    if (!Number.isInteger(seed)) throw new RangeError(`CHAOS_SEED must be an integer, got ${fromEnv}`);
    return seed;
  }
  return Math.floor(Math.random() * 2 ** 32);
}
