import { ServerResponse } from 'node:http';
import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  Resolvable,
  ThrottlerGenerateKeyFunction,
  ThrottlerGetTrackerFunction,
  ThrottlerGuard,
  ThrottlerModuleOptions,
  ThrottlerStorage,
} from '@nestjs/throttler';
// The keys @SkipThrottle() and @Throttle() write (not re-exported by the package's index);
// rate-limit.guard.spec.ts fails if a new version of the library moves them.
import {
  THROTTLER_KEY_GENERATOR,
  THROTTLER_LIMIT,
  THROTTLER_SKIP,
  THROTTLER_TRACKER,
  THROTTLER_TTL,
} from '@nestjs/throttler/dist/throttler.constants';
import { FastifyReply } from 'fastify';
import { FREE_OF_CHARGE, LimitedRequest, LONG_LIVED } from './rate-limit.decorators';
import { applyRateLimitHeaders, RateLimitOutcome, refusalError } from './rate-limit-outcome';
import { RateLimiter } from './rate-limiter';

const SLOT = Symbol('rate-limit slot');
type SlotHolder = ServerResponse & { [SLOT]?: RateLimitOutcome | null };

/** What a route's decorators say, read once per route: metadata does not change after start-up. */
interface Route {
  skip: boolean;
  free: boolean;
  /** Spends but holds no in-flight slot (event streams). */
  slotless: boolean;
  limit: Resolvable<number>;
  ttl: Resolvable<number>;
  getTracker: ThrottlerGetTrackerFunction;
  generateKey: ThrottlerGenerateKeyFunction;
  name: string;
}

const resolve = <T extends number | string>(
  value: Resolvable<T>,
  context: ExecutionContext,
): T | Promise<T> => (typeof value === 'function' ? value(context) : value);

/**
 * The rate limiter as a global guard. Registered after the AccessGuard (global guards run in
 * registration order), so request.user is the caller: their tier's buckets, else the client IP's.
 *
 * It is @nestjs/throttler's ThrottlerGuard with what does not fit replaced. Kept from the library:
 * the configuration (RateLimitModule's throttler: the caller's per-minute limit over 60 s, its
 * getTracker and generateKey: one bucket per user or IP across routes), the decorators
 * (@SkipThrottle() on health and metrics, @Throttle() to change a route's first bucket) with the
 * library's precedence (route, then class, then module), and its IP normalisation. Replaced:
 *
 * - the storage step (handleRequest + ThrottlerStorage): its model is one fixed-window
 *   increment(key, ttl, limit) per named throttler, so two limits would be two round trips, not
 *   atomic with each other (a request refused by the hour would already have spent a minute hit),
 *   with no in-flight cap and nothing to release. One script spends both token buckets and takes a
 *   slot in one round trip (RateLimiter); the slot is released when the response closes:
 *   completed, failed or aborted by the client. blockDuration does not apply: a token bucket
 *   refuses only until the next token.
 * - canActivate, for the hot path only: the base class reads six metadata keys and awaits six
 *   times per request; here the static part is resolved once per route, the limit (a function of
 *   the caller) per request.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  private readonly routes = new WeakMap<object, Route>();
  private readonly releaseOnClose: (this: SlotHolder) => void;

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly limiter: RateLimiter,
  ) {
    super(options, storage, reflector);
    // One listener function for every response: ServerResponse emits 'close' exactly once, after
    // the response is sent or when the connection drops first.
    this.releaseOnClose = function (this: SlotHolder) {
      const held = this[SLOT];
      if (!held) return;
      this[SLOT] = null;
      limiter.release(held.key!, held.slot!, held.keyWire!, held.slotWire!);
    };
  }

  get enabled(): boolean {
    return this.limiter.enabled;
  }

  override async onModuleInit(): Promise<void> {
    await super.onModuleInit();
    if (this.throttlers.length !== 1)
      throw new Error(
        'RateLimitGuard takes exactly one throttler (the caller’s buckets), see RateLimitModule',
      );
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const handler = context.getHandler();
    let route = this.routes.get(handler);
    if (!route) {
      route = this.routeOf(handler, context.getClass());
      this.routes.set(handler, route);
    }
    if (route.skip) return true;
    // getArgByIndex: switchToHttp() makes three closures per call.
    const request = context.getArgByIndex<LimitedRequest>(0);
    const reply = context.getArgByIndex<FastifyReply>(1);
    // Resolvables may be async; ours are not, and an await costs a turn of the microtask queue.
    let limit = resolve(route.limit, context);
    if (typeof limit !== 'number') limit = await limit;
    let ttl = resolve(route.ttl, context);
    if (typeof ttl !== 'number') ttl = await ttl;
    let tracker = route.getTracker(request, context);
    if (typeof tracker !== 'string') tracker = await tracker;
    const policy = this.limiter.policies.of(request.user).withMinute(limit, ttl);
    const bucket = route.generateKey(context, tracker, route.name);
    const outcome = route.free
      ? await this.limiter.peek(bucket, policy)
      : await this.limiter.acquire(bucket, policy, !route.slotless);
    if (!outcome) {
      request.rateLimit = false; // Redis did not answer: fail open
      return true;
    }
    request.rateLimit = outcome;
    applyRateLimitHeaders(reply, outcome);
    if (outcome.refusedBy) throw refusalError(outcome);
    if (outcome.slot) this.releaseWhenClosed(reply.raw, outcome);
    return true;
  }

  /** The base class's lookups (route over class over module), done once. */
  private routeOf(handler: object, cls: object): Route {
    const throttler = this.throttlers[0];
    const name = throttler.name ?? 'default';
    const meta = <T>(key: string): T | undefined =>
      this.reflector.getAllAndOverride<T | undefined>(key + name, [handler as () => void, cls as () => void]);
    return {
      skip: meta<boolean>(THROTTLER_SKIP) === true,
      free: this.reflector.get<boolean | undefined>(FREE_OF_CHARGE, handler as () => void) === true,
      slotless: this.reflector.get<boolean | undefined>(LONG_LIVED, handler as () => void) === true,
      limit: meta<Resolvable<number>>(THROTTLER_LIMIT) ?? throttler.limit,
      ttl: meta<Resolvable<number>>(THROTTLER_TTL) ?? throttler.ttl,
      getTracker:
        meta<ThrottlerGetTrackerFunction>(THROTTLER_TRACKER) ??
        throttler.getTracker ??
        this.commonOptions.getTracker!,
      generateKey:
        meta<ThrottlerGenerateKeyFunction>(THROTTLER_KEY_GENERATOR) ??
        throttler.generateKey ??
        this.commonOptions.generateKey!,
      name,
    };
  }

  private releaseWhenClosed(res: SlotHolder, outcome: RateLimitOutcome): void {
    if (res.destroyed) {
      // The client left while Redis was deciding: 'close' has been emitted already.
      this.limiter.release(outcome.key!, outcome.slot!, outcome.keyWire!, outcome.slotWire!);
      return;
    }
    res[SLOT] = outcome;
    res.on('close', this.releaseOnClose);
  }
}
