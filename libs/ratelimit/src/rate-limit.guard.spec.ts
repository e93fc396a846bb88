import { EventEmitter } from 'node:events';
import { CanActivate, Get } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { SkipThrottle, Throttle, ThrottlerStorageService } from '@nestjs/throttler';
import { AppError, loadConfig, Principal, Role, Scope } from '@app/core';
import { FreeOfCharge, LimitedRequest, LongLived } from './rate-limit.decorators';
import { RateLimitGuard } from './rate-limit.guard';
import { RATE_LIMIT_GUARD, rateLimitThrottlerOptions } from './rate-limit.module';
import { RateLimitOutcome } from './rate-limit-outcome';
import { RateLimitPolicies, RateLimitPolicy } from './rate-limit-policy';
import { RateLimiter } from './rate-limiter';

const config = loadConfig({});
const policies = new RateLimitPolicies(config.rateLimit);

// Route fixtures: the guard reads only handler and class metadata, so no @Controller is needed.
class SomeController {
  @Get('x') read() {}
  @Get('rate-limit') @FreeOfCharge() status() {}
  @Get('events') @LongLived() events() {}
  @Get('slow') @Throttle({ default: { limit: 5, ttl: 10_000 } }) slow() {}
  @Get('open') @SkipThrottle() open() {}
}

@SkipThrottle()
class ProbeController {
  @Get('health') live() {}
}

function principal(tier = 'free'): Principal {
  return new Principal('usr_1', 'alice', Role.Developer, [Scope.Read], tier, 'jti', new Date(), null);
}

function allowed(policy: RateLimitPolicy, partial: Partial<RateLimitOutcome> = {}): RateLimitOutcome {
  return {
    policy,
    refusedBy: null,
    minuteTokens: 59,
    hourTokens: 999,
    now: 1_800_000_000_000,
    inFlight: 1,
    key: 'cocode:rl:u:usr_1',
    slot: 'slot-1',
    keyWire: '$17\r\ncocode:rl:u:usr_1\r\n',
    slotWire: '$6\r\nslot-1\r\n',
    ...partial,
  };
}

describe('RateLimitGuard', () => {
  let limiter: {
    enabled: boolean;
    policies: RateLimitPolicies;
    acquire: jest.Mock;
    peek: jest.Mock;
    release: jest.Mock;
  };
  let guard: RateLimitGuard;

  beforeEach(async () => {
    limiter = {
      enabled: true,
      policies,
      acquire: jest.fn(async (_bucket: string, policy: RateLimitPolicy) => allowed(policy)),
      peek: jest.fn(async (_bucket: string, policy: RateLimitPolicy) =>
        allowed(policy, { slot: null, key: null, inFlight: 0 }),
      ),
      release: jest.fn(),
    };
    guard = new RateLimitGuard(
      rateLimitThrottlerOptions(config),
      new ThrottlerStorageService(),
      new Reflector(),
      limiter as unknown as RateLimiter,
    );
    await guard.onModuleInit();
  });

  function call(
    request: Partial<LimitedRequest>,
    handler: keyof SomeController | 'live' = 'read',
  ): {
    result: Promise<boolean>;
    request: LimitedRequest;
    headers: Record<string, string>;
    raw: EventEmitter & { destroyed: boolean };
  } {
    const headers: Record<string, string> = {};
    const raw = Object.assign(new EventEmitter(), { destroyed: false });
    const reply = { header: (name: string, value: string) => (headers[name] = value), raw };
    const req = { ip: '127.0.0.1', url: '/v2/x', rateLimit: null, headers: {}, ...request } as LimitedRequest;
    const cls = handler === 'live' ? ProbeController : SomeController;
    const fn = (cls.prototype as unknown as Record<string, () => void>)[handler];
    const context = new ExecutionContextHost([req, reply], cls, fn);
    return { result: guard.canActivate(context), request: req, headers, raw };
  }

  it("spends from the user's tier buckets, sets the headers and releases the slot once when the response closes", async () => {
    const { result, request, headers, raw } = call({ user: principal('pro') });
    await expect(result).resolves.toBe(true);
    expect(limiter.acquire).toHaveBeenCalledWith('rl:u:usr_1', policies.forTier('pro'), true);
    expect(request.rateLimit).toEqual(expect.objectContaining({ slot: 'slot-1' }));
    expect(headers).toEqual(
      expect.objectContaining({ 'X-RateLimit-Limit': '300', 'X-RateLimit-Remaining': '59' }),
    );
    expect(limiter.release).not.toHaveBeenCalled();
    raw.emit('close');
    raw.emit('close');
    expect(limiter.release).toHaveBeenCalledTimes(1);
    expect(limiter.release).toHaveBeenCalledWith(
      'cocode:rl:u:usr_1',
      'slot-1',
      '$17\r\ncocode:rl:u:usr_1\r\n',
      '$6\r\nslot-1\r\n',
    );
  });

  it('counts an unauthenticated call against the client IP (an IPv6 address by its /64)', async () => {
    await call({ ip: '203.0.113.9' }).result;
    expect(limiter.acquire).toHaveBeenLastCalledWith('rl:ip:203.0.113.9', policies.ip, true);
    await call({ ip: '2001:db8:1:2:aaaa:bbbb:cccc:dddd' }).result;
    expect(limiter.acquire).toHaveBeenLastCalledWith('rl:ip:2001:db8:1:2::/64', policies.ip, true);
  });

  it('refuses with 429 and the headers, holding no slot', async () => {
    limiter.acquire.mockImplementationOnce(async (_b: string, policy: RateLimitPolicy) =>
      allowed(policy, { refusedBy: 'minute', minuteTokens: 0.5, slot: null, key: null }),
    );
    const { result, headers, raw } = call({ user: principal() });
    const err = await result.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).status).toBe(429);
    expect((err as AppError).details.limit).toBe('minute');
    expect(headers['X-RateLimit-Remaining']).toBe('0');
    raw.emit('close');
    expect(limiter.release).not.toHaveBeenCalled();
  });

  it('lets the request through without headers when Redis does not answer (fail open)', async () => {
    limiter.acquire.mockResolvedValueOnce(null);
    const { result, request, headers } = call({ user: principal() });
    await expect(result).resolves.toBe(true);
    expect(request.rateLimit).toBe(false);
    expect(headers).toEqual({});
  });

  it('releases at once when the client left while Redis was deciding', async () => {
    let resolve!: (o: RateLimitOutcome) => void;
    limiter.acquire.mockReturnValueOnce(new Promise((r) => (resolve = r)));
    const { result, raw } = call({ user: principal() });
    raw.destroyed = true;
    raw.emit('close');
    resolve(allowed(policies.forTier('free')));
    await result;
    expect(limiter.release).toHaveBeenCalledWith(
      'cocode:rl:u:usr_1',
      'slot-1',
      '$17\r\ncocode:rl:u:usr_1\r\n',
      '$6\r\nslot-1\r\n',
    );
  });

  it('only reads the buckets on a free-of-charge route', async () => {
    const { result, request } = call({ user: principal() }, 'status');
    await result;
    expect(limiter.peek).toHaveBeenCalledWith('rl:u:usr_1', policies.forTier('free'));
    expect(limiter.acquire).not.toHaveBeenCalled();
    expect(request.rateLimit).toEqual(expect.objectContaining({ slot: null }));
  });

  it('leaves @SkipThrottle() routes (health, metrics) alone', async () => {
    const { result, headers } = call({}, 'live');
    await expect(result).resolves.toBe(true);
    expect(limiter.acquire).not.toHaveBeenCalled();
    expect(limiter.peek).not.toHaveBeenCalled();
    expect(headers).toEqual({});
  });

  it('spends but takes no in-flight slot on a @LongLived() (event stream) route', async () => {
    limiter.acquire.mockImplementationOnce(async (_b: string, policy: RateLimitPolicy) =>
      allowed(policy, { slot: null, key: null }),
    );
    const { result, raw } = call({ user: principal() }, 'events');
    await result;
    expect(limiter.acquire).toHaveBeenCalledWith('rl:u:usr_1', policies.forTier('free'), false);
    raw.emit('close');
    expect(limiter.release).not.toHaveBeenCalled();
  });

  it("honours a route's @Throttle() for its first bucket, and a method's @SkipThrottle()", async () => {
    await call({ user: principal() }, 'slow').result;
    const policy = limiter.acquire.mock.calls[0][1] as RateLimitPolicy;
    expect(policy).toEqual(
      expect.objectContaining({ perMinute: 5, minuteWindowMs: 10_000, perHour: 1000, concurrent: 5 }),
    );
    expect(policy.policyHeader).toBe('"minute";q=5;w=10, "hour";q=1000;w=3600');
    await call({ user: principal() }, 'open').result;
    expect(limiter.acquire).toHaveBeenCalledTimes(1);
  });

  it('is registered as a guard that does nothing when the limiter is switched off', () => {
    const factory = RATE_LIMIT_GUARD.useFactory as (g: RateLimitGuard) => CanActivate;
    expect(factory(guard)).toBe(guard);
    limiter.enabled = false;
    const off = factory(guard);
    expect(off).not.toBe(guard);
    expect(off.canActivate({} as never)).toBe(true);
  });
});
