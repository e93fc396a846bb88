import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { RATE_LIMIT_LUA, RATE_LIMIT_SHA, RateLimitReply } from './rate-limit-script';
import { BucketLimits, BucketState, HOUR_MS, MINUTE_MS, spend, stateLifetimeMs } from './token-bucket';

/**
 * The Lua script against the local Redis (as the e2e suites use it), with the script's test clock
 * so that the edges are exact: it must agree with token-bucket.ts to the thousandth of a token.
 */
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `ratelimit-spec:${randomBytes(4).toString('hex')}:`;
const T0 = 1_800_000_000_000;

interface Call {
  limits: BucketLimits;
  cost?: number;
  cap?: number;
  slot?: string;
  slotLifetimeMs?: number;
  now?: number | '';
  key?: string;
}

describe('the rate-limit Lua script (real Redis)', () => {
  let redis: Redis;
  let n = 0;
  let key = '';

  /** One decision, alone in its batch. */
  const call = async ({ limits, cost = 1, cap = 100, slot = '', slotLifetimeMs = 60_000, now = T0 }: Call) =>
    (
      (await redis.evalsha(
        RATE_LIMIT_SHA,
        1,
        key,
        slotLifetimeMs,
        now,
        1,
        limits.minute,
        limits.minuteWindowMs,
        limits.hour,
        limits.hourWindowMs,
        cost,
        cap,
        slot,
      )) as RateLimitReply[]
    )[0];

  /** The slots in the hash (its fields other than the buckets'). */
  const slots = async () => (await redis.hkeys(key)).filter((f) => !['m', 'h', 't'].includes(f)).sort();

  beforeAll(async () => {
    redis = new Redis(REDIS_URL, { keyPrefix: PREFIX, maxRetriesPerRequest: 1 });
    expect(await redis.script('LOAD', RATE_LIMIT_LUA)).toBe(RATE_LIMIT_SHA);
  });
  beforeEach(() => {
    key = `rl:t${n++}`;
  });
  afterAll(async () => {
    const plain = new Redis(REDIS_URL);
    const keys = await plain.keys(`${PREFIX}*`);
    if (keys.length) await plain.del(...keys);
    plain.disconnect();
    redis.disconnect();
  });

  const FREE: BucketLimits = { minute: 60, minuteWindowMs: MINUTE_MS, hour: 1000, hourWindowMs: HOUR_MS };

  it('agrees with token-bucket.ts step for step on random sequences (refill, both buckets, clock jumps)', async () => {
    const limitSets: BucketLimits[] = [
      FREE,
      { minute: 300, minuteWindowMs: MINUTE_MS, hour: 10000, hourWindowMs: HOUR_MS },
      { minute: 7, minuteWindowMs: MINUTE_MS, hour: 13, hourWindowMs: HOUR_MS }, // rates that are not whole
      { minute: 3, minuteWindowMs: 1000, hour: 3, hourWindowMs: 7000 },
    ];
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (const limits of limitSets) {
      key = `rl:mirror${n++}`;
      let stored: BucketState | null = null;
      let now = T0;
      for (let step = 0; step < 400; step++) {
        const r = random();
        // Mostly bursts and small steps; sometimes a clock step back or a gap of hours.
        now +=
          r < 0.4
            ? 0
            : r < 0.8
              ? Math.floor(random() * 500)
              : r < 0.9
                ? -Math.floor(random() * 20_000)
                : Math.floor(random() * 5 * HOUR_MS);
        const cost = random() < 0.1 ? 0 : 1;
        const expected = spend(stored, now, limits, cost);
        const [allowed, refusal, minuteMilli, hourMilli, redisNow] = await call({ limits, cost, now });
        const context = `limits ${JSON.stringify(limits)} step ${step}`;
        expect({ context, allowed, refusal }).toEqual({
          context,
          allowed: expected.refusedBy ? 0 : 1,
          refusal: expected.refusedBy === 'minute' ? 1 : expected.refusedBy === 'hour' ? 2 : 0,
        });
        expect({ context, minuteMilli, hourMilli, redisNow }).toEqual({
          context,
          minuteMilli: Math.floor(expected.state.minute),
          hourMilli: Math.floor(expected.state.hour),
          redisNow: now,
        });
        if (!expected.refusedBy && cost > 0) stored = expected.state;
      }
    }
  });

  it('refuses the 61st request of a burst and writes nothing when it refuses', async () => {
    for (let i = 0; i < 60; i++) expect((await call({ limits: FREE }))[0]).toBe(1);
    const before = await redis.hgetall(key);
    expect(await call({ limits: FREE })).toEqual([0, 1, 0, 940_000, T0, 0]);
    expect(await redis.hgetall(key)).toEqual(before);
  });

  it('keeps the hash until both buckets are full again, and at least as long as its slots', async () => {
    await call({ limits: FREE, slotLifetimeMs: 1 });
    await call({ limits: FREE, slotLifetimeMs: 1 });
    const pttl = await redis.pttl(key);
    const expected = stateLifetimeMs({ minute: 58_000, hour: 998_000, at: T0 }, T0, FREE);
    expect(pttl).toBeLessThanOrEqual(expected);
    expect(pttl).toBeGreaterThan(expected - 1000);
    await call({ limits: FREE, slot: 'a', slotLifetimeMs: 60_000 });
    expect(await redis.pttl(key)).toBeGreaterThan(59_000);
  });

  it('takes the decisions of a batch in order, each seeing the spending before it', async () => {
    const other = `${key}:other`;
    const limits = [60, MINUTE_MS, 1000, HOUR_MS, 1, 2];
    const replies = (await redis.evalsha(
      RATE_LIMIT_SHA,
      4,
      key,
      other,
      key,
      key,
      60_000,
      T0,
      4,
      ...limits,
      'a',
      ...limits,
      'x',
      ...limits,
      'b',
      ...limits,
      'c',
    )) as RateLimitReply[];
    expect(replies).toEqual([
      [1, 0, 59_000, 999_000, T0, 1],
      [1, 0, 59_000, 999_000, T0, 1],
      [1, 0, 58_000, 998_000, T0, 2],
      [0, 3, 58_000, 998_000, T0, 2],
    ]);
  });

  it('frees the slots of the batch before it decides', async () => {
    await call({ limits: FREE, cap: 1, slot: 'a' });
    expect((await call({ limits: FREE, cap: 1, slot: 'b' }))[1]).toBe(3);
    const other = `${key}:other`;
    await redis.hset(other, 'x', T0 + 60_000);
    const limits = [60, MINUTE_MS, 1000, HOUR_MS, 1, 1];
    // One decision (slot b), then two releases: a of this key, x of another.
    const replies = await redis.evalsha(
      RATE_LIMIT_SHA,
      3,
      key,
      key,
      other,
      60_000,
      T0,
      1,
      ...limits,
      'b',
      'a',
      'x',
    );
    expect(replies).toEqual([[1, 0, 58_000, 998_000, T0, 1]]);
    expect(await slots()).toEqual(['b']);
    expect(await redis.exists(other)).toBe(0);
    // Only releases: no decision, no clock.
    expect(await redis.evalsha(RATE_LIMIT_SHA, 1, key, 60_000, '', 0, 'b')).toEqual([]);
    expect(await slots()).toEqual([]);
  });

  it('uses the Redis server clock when no clock is passed', async () => {
    const [, , , , now] = await call({ limits: FREE, now: '' });
    expect(Math.abs(now - Date.now())).toBeLessThan(2000);
  });

  describe('in-flight cap', () => {
    it('refuses once the cap is reached, spending nothing, and admits again after a release', async () => {
      expect(await call({ limits: FREE, cap: 2, slot: 'a' })).toEqual([1, 0, 59_000, 999_000, T0, 1]);
      expect(await call({ limits: FREE, cap: 2, slot: 'b' })).toEqual([1, 0, 58_000, 998_000, T0, 2]);
      expect(await call({ limits: FREE, cap: 2, slot: 'c' })).toEqual([0, 3, 58_000, 998_000, T0, 2]);
      expect(await slots()).toEqual(['a', 'b']);
      expect(await redis.hget(key, 'a')).toBe(String(T0 + 60_000));
      await redis.hdel(key, 'a');
      expect(await call({ limits: FREE, cap: 2, slot: 'c' })).toEqual([1, 0, 57_000, 997_000, T0, 2]);
    });

    it('forgets slots whose lifetime ended (a gateway that crashed before releasing)', async () => {
      await call({ limits: FREE, cap: 2, slot: 'a', slotLifetimeMs: 1000 });
      await call({ limits: FREE, cap: 2, slot: 'b', slotLifetimeMs: 1000 });
      expect((await call({ limits: FREE, cap: 2, slot: 'c', now: T0 + 999 }))[1]).toBe(3);
      const later = await call({ limits: FREE, cap: 2, slot: 'c', slotLifetimeMs: 1000, now: T0 + 1000 });
      expect([later[0], later[5]]).toEqual([1, 1]);
      expect(await slots()).toEqual(['c']);
    });

    it('counts slots written before any bucket state', async () => {
      await redis.hset(key, 'x', T0 + 5000, 'y', T0 + 5000);
      expect((await call({ limits: FREE, cap: 2, slot: 'c' }))[1]).toBe(3);
      expect(await call({ limits: FREE, cap: 3, slot: 'c' })).toEqual([1, 0, 59_000, 999_000, T0, 3]);
    });

    it('takes no slot when a bucket refuses', async () => {
      const empty = { ...FREE, minute: 1 };
      await call({ limits: empty, slot: 'a' });
      expect(await call({ limits: empty, slot: 'b' })).toEqual([0, 1, 0, 999_000, T0, 1]);
      expect(await slots()).toEqual(['a']);
    });
  });

  describe('a look (cost 0)', () => {
    it('reports the buckets and the live requests in flight, and writes nothing', async () => {
      expect(await call({ limits: FREE, cost: 0 })).toEqual([1, 0, 60_000, 1_000_000, T0, 0]);
      expect(await redis.exists(key)).toBe(0);
      await call({ limits: FREE, slot: 'a', slotLifetimeMs: 1000 });
      await call({ limits: FREE, slot: 'b', slotLifetimeMs: 5000 });
      expect(await call({ limits: FREE, cost: 0, now: T0 + 500 })).toEqual([
        1,
        0,
        58_500,
        998_138,
        T0 + 500,
        2,
      ]);
      expect((await call({ limits: FREE, cost: 0, now: T0 + 1000 }))[5]).toBe(1);
      expect(await slots()).toEqual(['a', 'b']);
    });
  });
});
