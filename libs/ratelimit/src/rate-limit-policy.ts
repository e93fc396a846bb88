import { AppConfig, RateLimits } from '@app/core';
import { HOUR_MS, MINUTE_MS } from './token-bucket';

export type RateLimitScope = 'user' | 'ip';

/** The limits one caller gets, with the header values that never change computed once. */
export class RateLimitPolicy {
  /** X-RateLimit-Limit. */
  readonly limitHeader: string;
  /** RateLimit-Policy (draft-ietf-httpapi-ratelimit-headers). */
  readonly policyHeader: string;
  /** The script's ARGV 1-4 and 6 as strings, so that no request converts them again. */
  readonly args: readonly [
    minute: string,
    minuteWindowMs: string,
    hour: string,
    hourWindowMs: string,
    cap: string,
  ];
  private readonly variants = new Map<string, RateLimitPolicy>();

  constructor(
    /** The tier (free, pro, enterprise), or "ip" for unauthenticated calls. */
    readonly name: string,
    readonly scope: RateLimitScope,
    readonly perMinute: number,
    readonly perHour: number,
    readonly concurrent: number,
    readonly minuteWindowMs = MINUTE_MS,
    readonly hourWindowMs = HOUR_MS,
  ) {
    this.limitHeader = String(perMinute);
    this.args = [
      String(perMinute),
      String(minuteWindowMs),
      String(perHour),
      String(hourWindowMs),
      String(concurrent),
    ];
    this.policyHeader =
      `"minute";q=${perMinute};w=${Math.ceil(minuteWindowMs / 1000)}, ` +
      `"hour";q=${perHour};w=${Math.ceil(hourWindowMs / 1000)}`;
  }

  /** This policy with another first bucket (a route's own @Throttle() limit); made once per pair. */
  withMinute(limit: number, windowMs: number): RateLimitPolicy {
    if (limit === this.perMinute && windowMs === this.minuteWindowMs) return this;
    const key = `${limit}/${windowMs}`;
    let variant = this.variants.get(key);
    if (!variant) {
      variant = new RateLimitPolicy(this.name, this.scope, limit, this.perHour, this.concurrent, windowMs);
      this.variants.set(key, variant);
    }
    return variant;
  }

  /** "the free tier" / "unauthenticated calls per IP address", for messages. */
  get label(): string {
    return this.scope === 'ip' ? 'unauthenticated calls per IP address' : `the ${this.name} tier`;
  }
}

/** The configured tiers (the seed's table by default) and the per-IP policy. */
export class RateLimitPolicies {
  readonly ip: RateLimitPolicy;
  private readonly tiers = new Map<string, RateLimitPolicy>();
  private readonly fallback: RateLimitPolicy;

  constructor(config: AppConfig['rateLimit']) {
    const make = (name: string, scope: RateLimitScope, l: RateLimits) =>
      new RateLimitPolicy(name, scope, l.perMinute, l.perHour, l.concurrent);
    for (const [tier, limits] of Object.entries(config.tiers))
      this.tiers.set(tier, make(tier, 'user', limits));
    this.ip = make('ip', 'ip', config.ip);
    this.fallback = this.tiers.get('free')!;
  }

  /** A user's policy by tier; a tier this build does not know gets the free tier's limits. */
  forTier(tier: string): RateLimitPolicy {
    return this.tiers.get(tier) ?? this.fallback;
  }

  /** The caller's policy: their tier when authenticated (API clients carry their owner's), else per IP. */
  of(user: { tier: string } | null | undefined): RateLimitPolicy {
    return user ? this.forTier(user.tier) : this.ip;
  }
}
