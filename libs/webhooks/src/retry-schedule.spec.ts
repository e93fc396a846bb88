import { parseRetryAfter, retryDelayMs } from './retry-schedule';

describe('webhook retry schedule', () => {
  const mid = () => 0.5; // no jitter

  it('grows threefold per attempt from the base', () => {
    expect([2, 3, 4, 5].map((n) => retryDelayMs(n, 60_000, null, mid))).toEqual([
      60_000, 180_000, 540_000, 1_620_000,
    ]);
  });

  it('spreads eight tries over most of a day with the default base', () => {
    const total = [2, 3, 4, 5, 6, 7, 8].reduce((sum, n) => sum + retryDelayMs(n, 60_000, null, mid), 0);
    expect(total / 3_600_000).toBeGreaterThan(12);
    expect(total / 3_600_000).toBeLessThan(24);
  });

  it('jitters within +-20%', () => {
    expect(retryDelayMs(3, 1000, null, () => 0)).toBe(2400);
    expect(retryDelayMs(3, 1000, null, () => 1)).toBe(3600);
  });

  it('waits at least as long as Retry-After asks, and never more than a day', () => {
    expect(retryDelayMs(2, 1000, 30_000, mid)).toBe(30_000);
    expect(retryDelayMs(2, 1000, 500, mid)).toBe(1000);
    expect(retryDelayMs(20, 60_000, null, mid)).toBe(86_400_000);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-11-27T10:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Fri, 27 Nov 2026 10:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Fri, 27 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(undefined, now)).toBeNull();
  });
});
