/**
 * The token-bucket arithmetic of the rate limiter. The Lua script in rate-limit-script.ts runs it
 * in Redis, line for line the same; this module is what the unit tests pin down, and
 * rate-limit-script.spec.ts checks that the two agree on the same sequences.
 *
 * Each caller has two buckets: one holding up to the per-minute limit and refilled at that many
 * tokens per minute, one holding up to the per-hour limit and refilled at that many per hour, both
 * continuously (not in fixed windows). A request costs one token from each and is refused,
 * spending nothing, when either holds less than one.
 *
 * Amounts are in thousandths of a token (MILLI). What is stored after a request is rounded down to
 * a whole thousandth, at most 1/1000 of a token per request: Redis writes an integer several times
 * faster than a fraction (it formats fractions with %.17g), and that was most of the script's time.
 */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
/** Thousandths of a token per token. */
export const MILLI = 1000;

export interface BucketLimits {
  /** Capacity of the first bucket in tokens, refilled over minuteWindowMs. */
  minute: number;
  minuteWindowMs: number;
  hour: number;
  hourWindowMs: number;
}

/** What Redis stores: thousandths of a token in both buckets as of `at` (ms). No state: both full. */
export interface BucketState {
  minute: number;
  hour: number;
  at: number;
}

export type BucketName = 'minute' | 'hour';

/** The buckets as of `now`. */
export function refill(state: BucketState | null, now: number, limits: BucketLimits): BucketState {
  const minuteCap = limits.minute * MILLI;
  const hourCap = limits.hour * MILLI;
  if (!state) return { minute: minuteCap, hour: hourCap, at: now };
  const elapsed = now - state.at;
  if (elapsed > 0) {
    return {
      minute: Math.min(minuteCap, state.minute + (elapsed * minuteCap) / limits.minuteWindowMs),
      hour: Math.min(hourCap, state.hour + (elapsed * hourCap) / limits.hourWindowMs),
      at: now,
    };
  }
  // The clock went backwards (a Redis failover to a host whose clock is behind) or did not move:
  // no refill, no penalty, and the later timestamp stays so that the gap is not refilled twice.
  // The clamp applies a lowered limit (a tier downgrade) at once.
  return { minute: Math.min(minuteCap, state.minute), hour: Math.min(hourCap, state.hour), at: state.at };
}

export interface SpendResult {
  /** The bucket that had less than `cost` tokens; null when the request may pass. */
  refusedBy: BucketName | null;
  /** The buckets after this request: spent and stored when allowed, only refilled when refused. */
  state: BucketState;
}

/** Takes `cost` tokens from both buckets, or none when either has too few (cost 0: just look). */
export function spend(state: BucketState | null, now: number, limits: BucketLimits, cost = 1): SpendResult {
  const current = refill(state, now, limits);
  const units = cost * MILLI;
  if (current.minute < units) return { refusedBy: 'minute', state: current };
  if (current.hour < units) return { refusedBy: 'hour', state: current };
  if (cost === 0) return { refusedBy: null, state: current };
  return {
    refusedBy: null,
    state: {
      minute: Math.floor(current.minute - units),
      hour: Math.floor(current.hour - units),
      at: current.at,
    },
  };
}

/** Milliseconds until a bucket holding `tokens` is full again. */
export function msUntilFull(tokens: number, capacity: number, windowMs: number): number {
  return tokens >= capacity ? 0 : ((capacity - tokens) * windowMs) / capacity;
}

/** Milliseconds until a bucket holding `tokens` has `cost` tokens (0 when it has them now). */
export function msUntilAvailable(tokens: number, capacity: number, windowMs: number, cost = 1): number {
  return tokens >= cost ? 0 : ((cost - tokens) * windowMs) / capacity;
}

/**
 * How long a stored state matters: once both buckets are full again it equals no state at all, so
 * Redis may drop the key then (plus any lead of the stored clock over `now`).
 */
export function stateLifetimeMs(state: BucketState, now: number, limits: BucketLimits): number {
  const minuteCap = limits.minute * MILLI;
  const hourCap = limits.hour * MILLI;
  const full = Math.max(
    ((minuteCap - state.minute) * limits.minuteWindowMs) / minuteCap,
    ((hourCap - state.hour) * limits.hourWindowMs) / hourCap,
  );
  return Math.ceil(full + state.at - now) + 1000;
}
