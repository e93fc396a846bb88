import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { RATE_LIMIT_LUA, RATE_LIMIT_SHA, REPLY_WIDTH } from './rate-limit-script';
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

interface Decision {
  key: string;
  limits: BucketLimits;
  cost?: number;
  cap?: number;
  slot?: string;
}

/** One EVALSHA as the gateway builds it: the policies the decisions use, listed once. */
function batchArgs(
  decisions: Decision[],
  releases: Array<{ key: string; slot: string }>,
  now: number | '',
  slotLifetimeMs = 60_000,
): Array<string | number> {
  const policies: string[] = [];
  const numbers: number[] = [];
  for (const { limits, cost = 1, cap = 100 } of decisions) {
    const policy = [limits.minute, limits.minuteWindowMs, limits.hour, limits.hourWindowMs, cost, cap].join(
      ' ',
    );
    if (!policies.includes(policy)) policies.push(policy);
    numbers.push(policies.indexOf(policy) + 1);
  }
  return [
    RATE_LIMIT_SHA,
    decisions.length + releases.length,
    ...decisions.map((d) => d.key),
    ...releases.map((r) => r.key),
    slotLifetimeMs,
    now,
    decisions.length,
    policies.length,
    ...policies.flatMap((p) => p.split(' ')),
    ...decisions.flatMap((d, i) => [numbers[i], d.slot ?? '']),
    ...releases.map((r) => r.slot),
  ];
}

/** The flat answer cut into one six-number reply per decision. */
const repliesOf = (flat: number[]) =>
  Array.from({ length: flat.length / REPLY_WIDTH }, (_, i) =>
    flat.slice(i * REPLY_WIDTH, (i + 1) * REPLY_WIDTH),
  );

describe('the rate-limit Lua script (real Redis)', () => {
  let redis: Redis;
  let n = 0;
  let key = '';

  const batch = async (
    decisions: Decision[],
    releases: Array<{ key: string; slot: string }> = [],
    now: number | '' = T0,
    slotLifetimeMs = 60_000,
  ) =>
    repliesOf(
      (await redis.evalsha(
        ...(batchArgs(decisions, releases, now, slotLifetimeMs) as [string, number]),
      )) as number[],
    );

  /** One decision, alone in its batch. */
  const call = async ({ limits, cost = 1, cap = 100, slot = '', slotLifetimeMs = 60_000, now = T0 }: Call) =>
    (await batch([{ key, limits, cost, cap, slot }], [], now, slotLifetimeMs))[0];

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
    const d = (k: string, slot: string): Decision => ({ key: k, limits: FREE, cap: 2, slot });
    expect(await batch([d(key, 'a'), d(other, 'x'), d(key, 'b'), d(key, 'c')])).toEqual([
      [1, 0, 59_000, 999_000, T0, 1],
      [1, 0, 59_000, 999_000, T0, 1],
      [1, 0, 58_000, 998_000, T0, 2],
      [0, 3, 58_000, 998_000, T0, 2],
    ]);
    expect(await slots()).toEqual(['a', 'b']);
  });

  it('frees the slots of the batch before it decides', async () => {
    await call({ limits: FREE, cap: 1, slot: 'a' });
    expect((await call({ limits: FREE, cap: 1, slot: 'b' }))[1]).toBe(3);
    const other = `${key}:other`;
    await redis.hset(other, 'x', T0 + 60_000);
    // One decision (slot b), then two releases: a of this key, x of another.
    const replies = await batch(
      [{ key, limits: FREE, cap: 1, slot: 'b' }],
      [
        { key, slot: 'a' },
        { key: other, slot: 'x' },
      ],
    );
    expect(replies).toEqual([[1, 0, 58_000, 998_000, T0, 1]]);
    expect(await slots()).toEqual(['b']);
    expect(await redis.exists(other)).toBe(0);
    // Only releases: no decision, no clock.
    expect(await batch([], [{ key, slot: 'b' }], '')).toEqual([]);
    expect(await slots()).toEqual([]);
  });

  it('answers a batch as it would answer its decisions one by one (random mixes of callers, policies, looks, caps, expiries, releases)', async () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)];
    const limitSets: BucketLimits[] = [
      FREE,
      { minute: 5, minuteWindowMs: 1000, hour: 9, hourWindowMs: 7000 },
      { minute: 3, minuteWindowMs: MINUTE_MS, hour: 1000, hourWindowMs: HOUR_MS },
    ];
    const base = `rl:mix${n++}`;
    // The same sequence on two sets of keys: one batch at a time on "b", one decision at a time on "s".
    const names = ['p', 'q', 'r'];
    let now = T0;
    let slotSeq = 0;
    const held: Array<{ name: string; slot: string }> = [];
    for (let round = 0; round < 60; round++) {
      now += random() < 0.5 ? 0 : Math.floor(random() * 1500);
      const lifetime = pick([400, 60_000]);
      const releases = held.splice(0, Math.floor(random() * (held.length + 1)));
      const decisions: Array<Omit<Decision, 'key'> & { name: string }> = [];
      const count = 1 + Math.floor(random() * 12);
      for (let i = 0; i < count; i++) {
        const cost = random() < 0.15 ? 0 : 1;
        const slot = cost && random() < 0.8 ? `s${slotSeq++}` : '';
        decisions.push({ name: pick(names), limits: pick(limitSets), cost, cap: pick([1, 2, 3, 100]), slot });
      }
      const keyed = (prefix: string) => ({
        decisions: decisions.map(({ name, ...d }) => ({ ...d, key: `${base}:${prefix}:${name}` })),
        releases: releases.map((r) => ({ key: `${base}:${prefix}:${r.name}`, slot: r.slot })),
      });
      const b = keyed('b');
      const batched = await batch(b.decisions, b.releases, now, lifetime);
      const s = keyed('s');
      const single: number[][] = [];
      await batch([], s.releases, now, lifetime);
      for (const d of s.decisions) single.push(...(await batch([d], [], now, lifetime)));
      expect({ round, batched }).toEqual({ round, batched: single });
      decisions.forEach((d, i) => {
        if (d.slot && batched[i][0] === 1) held.push({ name: d.name, slot: d.slot });
      });
      for (const name of names) {
        const [hb, hs] = await Promise.all([
          redis.hgetall(`${base}:b:${name}`),
          redis.hgetall(`${base}:s:${name}`),
        ]);
        expect({ round, name, hash: hb }).toEqual({ round, name, hash: hs });
        const [tb, ts] = await Promise.all([
          redis.pttl(`${base}:b:${name}`),
          redis.pttl(`${base}:s:${name}`),
        ]);
        expect(Math.abs(tb - ts)).toBeLessThan(1000);
      }
    }
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
