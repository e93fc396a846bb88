import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { AppError, loadConfig, MetricsService } from '@app/core';
import { RATE_LIMIT_LUA, RATE_LIMIT_SHA } from './rate-limit-script';
import { RateLimiter } from './rate-limiter';

/** A RateLimiter on a stand-in Redis connection: how it fails open, logs, counts and recovers. */
function limiterWith(redis: Record<string, jest.Mock>, env: Record<string, string> = {}) {
  const metrics = new MetricsService();
  const limiter = new RateLimiter(loadConfig(env), metrics);
  (limiter as unknown as { redis: unknown }).redis = redis;
  const counter = async (name: string) =>
    (await metrics.registry.getSingleMetric(name)!.get()).values.map((v) => [v.labels, v.value]);
  return { limiter, counter };
}

/** The script's answer to one decision (its six numbers; a batch's answer is theirs in a row). */
const REPLY = [1, 0, 59_000, 999_000, 1_800_000_000_000, 1];

interface SentCommand {
  toWritable(): string;
  resolve(value: unknown): void;
  reject(err: Error): void;
  promise: Promise<unknown>;
}

/** A stand-in for redis.sendCommand(): answers each command with `answer(args)` (an Error rejects). */
function sendCommand(answer: (args: string[]) => unknown) {
  return jest.fn((command: SentCommand) => {
    const result = answer(argsOf(command));
    if (result instanceof Error) command.reject(result);
    else if (result !== undefined) command.resolve(result);
    return command.promise;
  });
}

/** The arguments of a command as Redis reads them from the wire (RESP array of bulk strings). */
function argsOf(command: SentCommand): string[] {
  const parts = command.toWritable().split('\r\n');
  const args: string[] = [];
  for (let i = 1; i + 1 < parts.length; i += 2) args.push(parts[i + 1]);
  return args;
}

describe('RateLimiter', () => {
  let warn: jest.SpyInstance;
  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => warn.mockRestore());

  it('sends one EVALSHA with the policy and a unique slot per request', async () => {
    const send = sendCommand(() => REPLY);
    const { limiter } = limiterWith({ sendCommand: send });
    const policy = limiter.policies.forTier('free');
    const a = await limiter.acquire('rl:u:usr_1', policy);
    const b = await limiter.acquire('rl:u:usr_1', policy);
    expect(send).toHaveBeenCalledTimes(2);
    expect(argsOf(send.mock.calls[0][0])).toEqual([
      'EVALSHA',
      RATE_LIMIT_SHA,
      '1',
      'cocode:rl:u:usr_1',
      '60000',
      '',
      '1',
      '1',
      '60',
      '60000',
      '1000',
      '3600000',
      '1',
      '5',
      '1',
      a!.slot,
    ]);
    expect(a!.slot).not.toBe(b!.slot);
    expect(a).toEqual(expect.objectContaining({ refusedBy: null, minuteTokens: 59, inFlight: 1 }));
  });

  it('spends without taking a slot when asked to (event streams)', async () => {
    const send = sendCommand(() => [1, 0, 59_000, 999_000, 1_800_000_000_000, 0]);
    const { limiter } = limiterWith({ sendCommand: send });
    const outcome = await limiter.acquire('rl:u:usr_1', limiter.policies.forTier('free'), false);
    expect(argsOf(send.mock.calls[0][0]).slice(-3)).toEqual(['5', '1', '']);
    expect(outcome).toEqual(expect.objectContaining({ refusedBy: null, key: null, slot: null }));
  });

  it('sends the decisions of one event-loop turn in one EVALSHA and hands each its answer', async () => {
    const send = sendCommand((args) =>
      args[2] === '2'
        ? [1, 0, 59_000, 999_000, 1_800_000_000_000, 1, 1, 0, 299_000, 9_999_000, 1_800_000_000_000, 0]
        : new Error('expected one batch of two'),
    );
    const { limiter } = limiterWith({ sendCommand: send });
    const [free, pro] = await Promise.all([
      limiter.acquire('rl:u:usr_1', limiter.policies.forTier('free')),
      limiter.peek('rl:u:usr_2', limiter.policies.forTier('pro')),
    ]);
    expect(send).toHaveBeenCalledTimes(1);
    const args = argsOf(send.mock.calls[0][0]);
    expect(args.slice(2, 8)).toEqual(['2', 'cocode:rl:u:usr_1', 'cocode:rl:u:usr_2', '60000', '', '2']);
    // Two policies (free spending, pro looking), then each decision's policy number and slot.
    expect(args.slice(8)).toEqual([
      '2',
      '60',
      '60000',
      '1000',
      '3600000',
      '1',
      '5',
      '300',
      '60000',
      '10000',
      '3600000',
      '0',
      '20',
      '1',
      free!.slot,
      '2',
      '',
    ]);
    expect(free).toEqual(
      expect.objectContaining({ refusedBy: null, minuteTokens: 59, key: 'cocode:rl:u:usr_1' }),
    );
    expect(pro).toEqual(expect.objectContaining({ refusedBy: null, minuteTokens: 299, slot: null }));
  });

  it('fails open when Redis does not answer: null, counted, and logged once per 30 s', async () => {
    const send = sendCommand(
      () => new Error("Stream isn't writeable and enableOfflineQueue options is false"),
    );
    const { limiter, counter } = limiterWith({ sendCommand: send });
    const policy = limiter.policies.forTier('free');
    for (let i = 0; i < 50; i++) expect(await limiter.acquire('rl:u:usr_1', policy)).toBeNull();
    expect(await limiter.peek('rl:u:usr_1', policy)).toBeNull();
    expect(await counter('rate_limit_store_failures_total')).toEqual(
      expect.arrayContaining([
        [{ operation: 'acquire' }, 50],
        [{ operation: 'peek' }, 1],
      ]),
    );
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toContain('requests pass unlimited');
  });

  it('loads the script again and re-sends the batch when Redis lost it (NOSCRIPT)', async () => {
    let calls = 0;
    const send = sendCommand(() =>
      calls++ === 0 ? new Error('NOSCRIPT No matching script. Please use EVAL.') : REPLY,
    );
    const script = jest.fn().mockResolvedValue('sha');
    const { limiter, counter } = limiterWith({ sendCommand: send, script });
    const outcome = await limiter.acquire('rl:u:usr_1', limiter.policies.forTier('free'));
    expect(outcome?.refusedBy).toBeNull();
    expect(script).toHaveBeenCalledWith('LOAD', RATE_LIMIT_LUA);
    expect(send).toHaveBeenCalledTimes(2);
    expect(send.mock.calls[1][0].toWritable()).toBe(send.mock.calls[0][0].toWritable());
    expect(await counter('rate_limit_store_failures_total')).toEqual([]);
  });

  it('counts refusals by scope and limit', async () => {
    const send = sendCommand(() => [0, 3, 10_000, 900_000, 1_800_000_000_000, 5]);
    const { limiter, counter } = limiterWith({ sendCommand: send });
    expect((await limiter.acquire('rl:u:usr_1', limiter.policies.forTier('free')))?.refusedBy).toBe(
      'concurrency',
    );
    expect(await counter('rate_limit_refusals_total')).toEqual([
      [{ scope: 'user', limit: 'concurrency' }, 1],
    ]);
  });

  it('frees slots without waiting, with the decisions of the same event-loop turn in one command', async () => {
    const send = sendCommand((args) => (args[8] === '1' ? REPLY : new Error('expected one decision')));
    const { limiter } = limiterWith({ sendCommand: send });
    expect(limiter.release('cocode:rl:u:usr_1', 'slot-a')).toBeUndefined();
    limiter.release('cocode:rl:u:usr_2', 'slot-b');
    expect(send).not.toHaveBeenCalled();
    const outcome = await limiter.acquire('rl:u:usr_3', limiter.policies.forTier('free'));
    expect(send).toHaveBeenCalledTimes(1);
    expect(argsOf(send.mock.calls[0][0])).toEqual([
      'EVALSHA',
      RATE_LIMIT_SHA,
      '3',
      'cocode:rl:u:usr_3',
      'cocode:rl:u:usr_1',
      'cocode:rl:u:usr_2',
      '60000',
      '',
      '1',
      '1',
      '60',
      '60000',
      '1000',
      '3600000',
      '1',
      '5',
      '1',
      outcome!.slot,
      'slot-a',
      'slot-b',
    ]);
  });

  it('counts lost releases', async () => {
    const send = sendCommand(() => new Error('Connection is closed.'));
    const { limiter, counter } = limiterWith({ sendCommand: send });
    limiter.release('cocode:rl:u:usr_1', 'slot-a');
    limiter.release('cocode:rl:u:usr_1', 'slot-b');
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(argsOf(send.mock.calls[0][0]).slice(2)).toEqual([
      '2',
      'cocode:rl:u:usr_1',
      'cocode:rl:u:usr_1',
      '60000',
      '',
      '0',
      '0',
      'slot-a',
      'slot-b',
    ]);
    expect(await counter('rate_limit_store_failures_total')).toEqual([[{ operation: 'release' }, 2]]);
  });

  describe('stall watchdog', () => {
    afterEach(() => jest.useRealTimers());

    it('drops a connection that stopped answering, so that the waiting requests pass (fail open)', async () => {
      jest.useFakeTimers({ doNotFake: ['setImmediate'] });
      const waiting: SentCommand[] = [];
      const redis = {
        sendCommand: jest.fn((command: SentCommand) => {
          waiting.push(command);
          return command.promise;
        }),
        disconnect: jest.fn(() => waiting.forEach((c) => c.reject(new Error('Connection is closed.')))),
      };
      const { limiter } = limiterWith(redis);
      (limiter as unknown as { startWatchdog(r: unknown, ms: number): void }).startWatchdog(redis, 100);
      const decision = limiter.acquire('rl:u:usr_1', limiter.policies.forTier('free'));
      await new Promise((r) => setImmediate(r)); // the turn ends: the batch is sent
      jest.advanceTimersByTime(100);
      expect(redis.disconnect).not.toHaveBeenCalled();
      jest.advanceTimersByTime(50);
      expect(redis.disconnect).toHaveBeenCalledWith(true);
      await expect(decision).resolves.toBeNull();
      await limiter.onApplicationShutdown().catch(() => undefined);
    });

    it('leaves a connection alone while it answers', async () => {
      jest.useFakeTimers({ doNotFake: ['setImmediate'] });
      const redis = { sendCommand: sendCommand(() => REPLY), disconnect: jest.fn() };
      const { limiter } = limiterWith(redis);
      (limiter as unknown as { startWatchdog(r: unknown, ms: number): void }).startWatchdog(redis, 100);
      for (let i = 0; i < 20; i++) {
        await limiter.acquire('rl:u:usr_1', limiter.policies.forTier('free'));
        jest.advanceTimersByTime(50);
      }
      expect(redis.disconnect).not.toHaveBeenCalled();
      await limiter.onApplicationShutdown().catch(() => undefined);
    });
  });

  it('opens no Redis connection when switched off, and reports the limits as not enforced', async () => {
    const limiter = new RateLimiter(loadConfig({ RATE_LIMIT_ENABLED: 'false' }), new MetricsService());
    await limiter.onModuleInit();
    expect((limiter as unknown as { redis: unknown }).redis).toBeNull();
    expect(limiter.status({ tier: 'pro' }, null)).toEqual({
      tier: 'pro',
      enforced: false,
      minute: { limit: 300, windowSeconds: 60, remaining: null, resetAt: null },
      hour: { limit: 10000, windowSeconds: 3600, remaining: null, resetAt: null },
      concurrency: { limit: 20, inFlight: null },
    });
  });

  it('answers GET /rate-limit from the reading, or 503 when Redis did not answer', () => {
    const { limiter } = limiterWith({});
    const policy = limiter.policies.forTier('free');
    const now = Date.UTC(2026, 2, 14, 9, 15, 0);
    expect(
      limiter.status(
        { tier: 'free' },
        {
          policy,
          refusedBy: null,
          minuteTokens: 57.5,
          hourTokens: 997.25,
          now,
          inFlight: 2,
          key: null,
          slot: null,
          keyWire: null,
          slotWire: null,
        },
      ),
    ).toEqual({
      tier: 'free',
      enforced: true,
      minute: { limit: 60, windowSeconds: 60, remaining: 57, resetAt: '2026-03-14T09:15:03Z' },
      hour: { limit: 1000, windowSeconds: 3600, remaining: 997, resetAt: '2026-03-14T09:15:10Z' },
      concurrency: { limit: 5, inFlight: 2 },
    });
    const err = (() => {
      try {
        limiter.status({ tier: 'free' }, null);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).status).toBe(503);
  });

  describe('on the real Redis', () => {
    const url = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
    const prefix = `ratelimiter-spec-${randomBytes(4).toString('hex')}`;
    let limiter: RateLimiter;
    let plain: Redis;

    beforeAll(async () => {
      warn.mockRestore();
      limiter = new RateLimiter(
        loadConfig({ REDIS_URL: url, REDIS_PREFIX: prefix, RATE_LIMIT_FREE_CONCURRENT: '2' }),
        new MetricsService(),
      );
      await limiter.onModuleInit();
      plain = new Redis(url);
    });
    afterAll(async () => {
      await limiter.onApplicationShutdown();
      const keys = await plain.keys(`${prefix}:*`);
      if (keys.length) await plain.del(...keys);
      plain.disconnect();
    });

    it('keeps the keys under REDIS_PREFIX, takes slots up to the cap and frees them in one batch', async () => {
      const free = limiter.policies.forTier('free');
      const [a, b, c] = await Promise.all([1, 2, 3].map(() => limiter.acquire('rl:u:usr_real', free)));
      expect([a, b, c].map((o) => o?.refusedBy ?? null).sort()).toEqual(['concurrency', null, null]);
      const key = `${prefix}:rl:u:usr_real`;
      const slots = [a, b].map((o) => o!.slot!).sort();
      expect(Object.keys(await plain.hgetall(key)).sort()).toEqual([...slots, 'h', 'm', 't'].sort());
      // Thousandths of a token, whole: the minute bucket held 58 and whatever refilled since.
      expect(await plain.hget(key, 'm')).toMatch(/^58\d{3}$/);
      for (const o of [a, b, c]) if (o?.slot) limiter.release(o.key!, o.slot);
      await new Promise((r) => setTimeout(r, 50));
      expect(await plain.hlen(key)).toBe(3);
      const peek = await limiter.peek('rl:u:usr_real', free);
      expect(peek).toEqual(
        expect.objectContaining({ refusedBy: null, minuteTokens: expect.any(Number), inFlight: 0 }),
      );
      expect(Math.floor(peek!.minuteTokens)).toBe(58);
    });
  });
});
