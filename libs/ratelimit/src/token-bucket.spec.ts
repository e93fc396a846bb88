import {
  BucketLimits,
  BucketState,
  HOUR_MS,
  MINUTE_MS,
  msUntilAvailable,
  msUntilFull,
  refill,
  spend,
  stateLifetimeMs,
} from './token-bucket';

const FREE: BucketLimits = { minute: 60, minuteWindowMs: MINUTE_MS, hour: 1000, hourWindowMs: HOUR_MS };
const PRO: BucketLimits = { minute: 300, minuteWindowMs: MINUTE_MS, hour: 10000, hourWindowMs: HOUR_MS };
const T0 = 1_800_000_000_000;
/** Amounts are thousandths of a token. */
const tokens = (n: number) => n * 1000;

/** Spends like the limiter does: the state is stored only when the request passes. */
function run(limits: BucketLimits, times: number[], start: BucketState | null = null) {
  let state = start;
  const passed: boolean[] = [];
  for (const now of times) {
    const r = spend(state, now, limits);
    passed.push(r.refusedBy === null);
    if (r.refusedBy === null) state = r.state;
  }
  return { state, passed };
}

describe('token buckets', () => {
  describe('a caller with no state', () => {
    it('has both buckets full', () => {
      expect(refill(null, T0, FREE)).toEqual({ minute: tokens(60), hour: tokens(1000), at: T0 });
    });

    it('spends one token of each bucket per request', () => {
      expect(spend(null, T0, FREE)).toEqual({
        refusedBy: null,
        state: { minute: tokens(59), hour: tokens(999), at: T0 },
      });
    });
  });

  describe('burst', () => {
    it('lets the whole minute capacity through at once, and refuses the next request', () => {
      const { passed, state } = run(FREE, new Array(61).fill(T0));
      expect(passed.slice(0, 60).every(Boolean)).toBe(true);
      expect(passed[60]).toBe(false);
      expect(state).toEqual({ minute: 0, hour: tokens(940), at: T0 });
    });

    it('spends nothing when it refuses', () => {
      const empty: BucketState = { minute: 500, hour: tokens(500), at: T0 };
      const r = spend(empty, T0, FREE);
      expect(r.refusedBy).toBe('minute');
      expect(r.state).toEqual(empty);
    });

    it('spends nothing on a look (cost 0), even with an empty bucket', () => {
      const empty: BucketState = { minute: 0, hour: 0, at: T0 };
      expect(spend(empty, T0 + 250, FREE, 0)).toEqual({
        refusedBy: null,
        state: { minute: 250, hour: 1000 / 14.4, at: T0 + 250 },
      });
    });
  });

  describe('refill', () => {
    it('is continuous: one token of the free minute bucket per second, fractions included', () => {
      const empty: BucketState = { minute: 0, hour: tokens(1000), at: T0 };
      expect(refill(empty, T0 + 500, FREE).minute).toBe(500);
      expect(spend(empty, T0 + 999, FREE).refusedBy).toBe('minute');
      expect(spend(empty, T0 + 1000, FREE).refusedBy).toBeNull();
    });

    it('refills the hour bucket at its own rate (1000 per hour = one per 3.6 s)', () => {
      const state: BucketState = { minute: 0, hour: 0, at: T0 };
      expect(refill(state, T0 + 3600, FREE)).toEqual({ minute: 3600, hour: tokens(1), at: T0 + 3600 });
    });

    it('never goes above capacity', () => {
      const state: BucketState = { minute: tokens(59), hour: tokens(999), at: T0 };
      expect(refill(state, T0 + 10 * MINUTE_MS, FREE)).toEqual({
        minute: tokens(60),
        hour: tokens(1000),
        at: T0 + 10 * MINUTE_MS,
      });
    });

    it('keeps whole thousandths when it stores: a fraction of a thousandth is dropped per request', () => {
      // 7 per minute: 7000 thousandths per 60000 ms, 0.1166... per ms.
      const odd: BucketLimits = { minute: 7, minuteWindowMs: MINUTE_MS, hour: 1000, hourWindowMs: HOUR_MS };
      const r = spend({ minute: 0, hour: tokens(1000), at: T0 }, T0 + 9000, odd);
      expect(r.state.minute).toBe(50); // 1050 refilled, 1000 spent
      expect(Number.isInteger(r.state.hour)).toBe(true);
    });

    it('allows a steady 1 request per second for a free caller within the hour budget', () => {
      const times = Array.from({ length: 300 }, (_, i) => T0 + i * 1000);
      expect(run(FREE, times).passed.every(Boolean)).toBe(true);
    });
  });

  describe('both buckets', () => {
    it('refuses on the hour bucket when the minute bucket still has tokens', () => {
      // A burst of 60 at the start of every minute: the hour bucket refills only ~16.7 a minute.
      const times: number[] = [];
      for (let minute = 0; minute < 30; minute++)
        for (let i = 0; i < 60; i++) times.push(T0 + minute * MINUTE_MS + i);
      const { passed, state } = run(FREE, times);
      const firstRefusal = passed.indexOf(false);
      expect(firstRefusal).toBeGreaterThan(1000);
      const refused = spend(state, times[firstRefusal], FREE);
      expect(refused.refusedBy).toBe('hour');
      expect(refused.state.minute).toBeGreaterThanOrEqual(tokens(1));
      expect(refused.state.hour).toBeLessThan(tokens(1));
    });

    it('names the minute bucket when both are empty', () => {
      expect(spend({ minute: 0, hour: 0, at: T0 }, T0, FREE).refusedBy).toBe('minute');
    });

    it('spends from the hour bucket only when the minute bucket lets the request through', () => {
      expect(run(FREE, new Array(100).fill(T0)).state!.hour).toBe(tokens(940));
    });
  });

  describe('clock edges', () => {
    it('does not refill, penalise or move its timestamp back when the clock goes backwards', () => {
      const state: BucketState = { minute: tokens(10), hour: tokens(500), at: T0 };
      const back = refill(state, T0 - 30_000, FREE);
      expect(back).toEqual(state);
      // ...and once the clock is past the stored time again, refills only from there.
      expect(refill(back, T0 + 1000, FREE).minute).toBe(tokens(11));
    });

    it('still serves while the clock is behind, from the tokens there are', () => {
      const { passed, state } = run(FREE, [T0, T0 - 5000, T0 - 5000, T0 - 10_000]);
      expect(passed).toEqual([true, true, true, true]);
      expect(state).toEqual({ minute: tokens(56), hour: tokens(996), at: T0 });
    });

    it('refills a huge gap (days) only up to capacity', () => {
      const later = T0 + 30 * 86_400_000;
      expect(refill({ minute: 0, hour: 0, at: T0 }, later, FREE)).toEqual({
        minute: tokens(60),
        hour: tokens(1000),
        at: later,
      });
    });

    it('is exact at the millisecond a token completes', () => {
      const state: BucketState = { minute: 0, hour: tokens(10000), at: T0 };
      expect(spend(state, T0 + 199, PRO).refusedBy).toBe('minute');
      expect(spend(state, T0 + 200, PRO).refusedBy).toBeNull();
    });
  });

  describe('limit changes (a tier changed by an admin)', () => {
    it('clamps the tokens to a lowered capacity at once', () => {
      const state: BucketState = { minute: tokens(250), hour: tokens(9000), at: T0 };
      expect(refill(state, T0, FREE)).toEqual({ minute: tokens(60), hour: tokens(1000), at: T0 });
    });

    it('refills towards a raised capacity at the new rate', () => {
      const state: BucketState = { minute: tokens(60), hour: tokens(1000), at: T0 };
      expect(refill(state, T0 + 1000, PRO).minute).toBe(tokens(65));
    });
  });

  describe('derived times', () => {
    it('time until full and until the next token', () => {
      expect(msUntilFull(59, 60, MINUTE_MS)).toBe(1000);
      expect(msUntilFull(60, 60, MINUTE_MS)).toBe(0);
      expect(msUntilAvailable(0.25, 60, MINUTE_MS)).toBe(750);
      expect(msUntilAvailable(3, 60, MINUTE_MS)).toBe(0);
      expect(msUntilAvailable(999.5, 1000, HOUR_MS)).toBe(0);
      expect(msUntilAvailable(0, 1000, HOUR_MS)).toBe(3600);
    });

    it('keeps the state exactly as long as it differs from "both full"', () => {
      expect(stateLifetimeMs({ minute: tokens(59), hour: tokens(999), at: T0 }, T0, FREE)).toBe(3600 + 1000);
      expect(stateLifetimeMs({ minute: 0, hour: tokens(990), at: T0 }, T0, FREE)).toBe(MINUTE_MS + 1000);
      // A stored clock ahead of now (after a step back) extends it by the difference.
      expect(stateLifetimeMs({ minute: 0, hour: tokens(1000), at: T0 + 5000 }, T0, FREE)).toBe(
        MINUTE_MS + 6000,
      );
    });
  });
});
