import { AppError, loadConfig } from '@app/core';
import {
  applyRateLimitHeaders,
  outcomeOf,
  RateLimitOutcome,
  refusalError,
  remainingOf,
  retryAfterOf,
} from './rate-limit-outcome';
import { RateLimitPolicies } from './rate-limit-policy';

const policies = new RateLimitPolicies(loadConfig({}).rateLimit);
const FREE = policies.forTier('free');
const NOW = 1_800_000_000_250;

function outcome(partial: Partial<RateLimitOutcome>): RateLimitOutcome {
  return {
    policy: FREE,
    refusedBy: null,
    minuteTokens: 59,
    hourTokens: 999,
    now: NOW,
    inFlight: 1,
    key: 'cocode:rl:u:usr_1',
    slot: 's1',
    keyWire: '$17\r\ncocode:rl:u:usr_1\r\n',
    slotWire: '$2\r\ns1\r\n',
    ...partial,
  };
}

function headersOf(o: RateLimitOutcome): Record<string, string> {
  const headers: Record<string, string> = {};
  applyRateLimitHeaders({ header: (name, value) => (headers[name] = value) }, o);
  return headers;
}

describe('rate-limit policies', () => {
  it('holds the seed table by default, API clients and users alike by tier', () => {
    expect([policies.forTier('free'), policies.forTier('pro'), policies.forTier('enterprise')]).toEqual([
      expect.objectContaining({ perMinute: 60, perHour: 1000, concurrent: 5 }),
      expect.objectContaining({ perMinute: 300, perHour: 10000, concurrent: 20 }),
      expect.objectContaining({ perMinute: 1000, perHour: 50000, concurrent: 100 }),
    ]);
  });

  it('gives an unknown tier the free limits, and an anonymous caller the per-IP policy', () => {
    expect(policies.forTier('platinum')).toBe(FREE);
    expect(policies.of({ tier: 'pro' }).name).toBe('pro');
    expect(policies.of(undefined)).toBe(policies.ip);
    expect(policies.ip).toEqual(expect.objectContaining({ scope: 'ip', perMinute: 20 }));
  });

  it('writes the IETF policy header once per policy', () => {
    expect(FREE.policyHeader).toBe('"minute";q=60;w=60, "hour";q=1000;w=3600');
    expect(policies.forTier('pro').policyHeader).toBe('"minute";q=300;w=60, "hour";q=10000;w=3600');
  });

  it('makes a variant for a route-level first bucket once and reuses it', () => {
    expect(FREE.withMinute(60, 60_000)).toBe(FREE);
    const variant = FREE.withMinute(10, 10_000);
    expect(variant).toBe(FREE.withMinute(10, 10_000));
    expect(variant.policyHeader).toBe('"minute";q=10;w=10, "hour";q=1000;w=3600');
  });
});

describe('rate-limit outcome', () => {
  it('reads the script reply; a refused request holds no slot', () => {
    expect(outcomeOf([1, 0, 59_000, 999_000, NOW, 1], 0, FREE, 'k', 's', 'kw', 'sw')).toEqual(
      outcome({ key: 'k', slot: 's', keyWire: 'kw', slotWire: 'sw' }),
    );
    // The second decision of a batch reads the second six numbers.
    expect(
      outcomeOf([1, 0, 59_000, 999_000, NOW, 1, 1, 0, 58_000, 998_000, NOW, 2], 1, FREE, 'k', 's')
        .minuteTokens,
    ).toBe(58);
    expect(outcomeOf([0, 2, 12_500, 0, NOW, 0], 0, FREE, 'k', 's', 'kw', 'sw')).toEqual(
      outcome({
        refusedBy: 'hour',
        minuteTokens: 12.5,
        hourTokens: 0,
        inFlight: 0,
        key: null,
        slot: null,
        keyWire: null,
        slotWire: null,
      }),
    );
    expect(outcomeOf([0, 3, 1000, 1000, NOW, 5], 0, FREE, 'k', 's').refusedBy).toBe('concurrency');
  });

  describe('headers', () => {
    it("sends the seed's three and the IETF pair after a first request", () => {
      expect(headersOf(outcome({}))).toEqual({
        'X-RateLimit-Limit': '60',
        'X-RateLimit-Remaining': '59',
        'X-RateLimit-Reset': String(Math.ceil((NOW + 1000) / 1000)),
        'RateLimit-Policy': '"minute";q=60;w=60, "hour";q=1000;w=3600',
        RateLimit: '"minute";r=59;t=1',
      });
    });

    it('counts whole tokens of the tighter bucket, and names the hour bucket when it is the tighter', () => {
      const h = headersOf(outcome({ minuteTokens: 42.9, hourTokens: 7.5 }));
      expect(h['X-RateLimit-Remaining']).toBe('7');
      expect(h.RateLimit).toBe(`"hour";r=7;t=${Math.ceil(((1000 - 7.5) * 3600) / 1000)}`);
      // X-RateLimit-Reset stays the minute bucket's: (60 - 42.9) s from now.
      expect(h['X-RateLimit-Reset']).toBe(String(Math.ceil((NOW + 17_100) / 1000)));
    });

    it('shows an empty bucket as 0 remaining with the seconds until it is full', () => {
      const h = headersOf(outcome({ refusedBy: 'minute', minuteTokens: 0.25, slot: null }));
      expect(h['X-RateLimit-Remaining']).toBe('0');
      expect(h.RateLimit).toBe('"minute";r=0;t=60');
    });

    it('reports a full bucket as resetting now', () => {
      const h = headersOf(outcome({ minuteTokens: 60, hourTokens: 1000 }));
      expect(h['X-RateLimit-Reset']).toBe(String(Math.ceil(NOW / 1000)));
      expect(h.RateLimit).toBe('"minute";r=60;t=0');
    });
  });

  describe('refusals', () => {
    it('minute: 429 RATE_LIMITED with Retry-After until the next token and the numbers in details', () => {
      const o = outcome({ refusedBy: 'minute', minuteTokens: 0.25, hourTokens: 940 });
      expect(retryAfterOf(o)).toBe(1);
      const err = refusalError(o);
      expect(err).toBeInstanceOf(AppError);
      expect(err.status).toBe(429);
      expect(err.code).toBe('RATE_LIMITED');
      expect(err.headers).toEqual({ 'Retry-After': '1' });
      expect(err.details).toEqual({
        limit: 'minute',
        scope: 'user',
        tier: 'free',
        max: 60,
        windowSeconds: 60,
        remaining: 0,
        retryAfterSeconds: 1,
      });
      expect(err.message).toBe('Rate limit exceeded: 60 requests per minute for the free tier; retry in 1 s');
    });

    it('hour: waits for the next hour token (3.6 s on the free tier)', () => {
      const o = outcome({ refusedBy: 'hour', minuteTokens: 30, hourTokens: 0 });
      expect(retryAfterOf(o)).toBe(4);
      expect(refusalError(o).details).toEqual(
        expect.objectContaining({ limit: 'hour', max: 1000, windowSeconds: 3600, retryAfterSeconds: 4 }),
      );
    });

    it('concurrency: names the cap and how many are in flight', () => {
      const err = refusalError(outcome({ refusedBy: 'concurrency', inFlight: 5, slot: null }));
      expect(err.headers['Retry-After']).toBe('1');
      expect(err.details).toEqual({
        limit: 'concurrency',
        scope: 'user',
        tier: 'free',
        max: 5,
        inFlight: 5,
        retryAfterSeconds: 1,
      });
    });

    it('per IP: no tier, and says what is limited', () => {
      const err = refusalError(outcome({ policy: policies.ip, refusedBy: 'minute', minuteTokens: 0 }));
      expect(err.details).toEqual(expect.objectContaining({ limit: 'minute', scope: 'ip', max: 20 }));
      expect(err.details).not.toHaveProperty('tier');
      expect(err.message).toContain('unauthenticated calls per IP address');
      expect(err.headers['Retry-After']).toBe('3');
    });

    it('never says less than one second', () => {
      expect(remainingOf(outcome({ minuteTokens: 0.999 }))).toBe(0);
      expect(retryAfterOf(outcome({ refusedBy: 'minute', minuteTokens: 0.999 }))).toBe(1);
    });
  });
});
