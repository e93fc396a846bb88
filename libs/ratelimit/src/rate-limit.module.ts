import { ExecutionContext, FactoryProvider, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule, ThrottlerModuleOptions } from '@nestjs/throttler';
import { AppConfig } from '@app/core';
import { LimitedRequest } from './rate-limit.decorators';
import { RateLimitGuard } from './rate-limit.guard';
import { bucketKey, trackerOf } from './rate-limit-keys';
import { RateLimitPolicies } from './rate-limit-policy';
import { RateLimiter } from './rate-limiter';
import { MINUTE_MS } from './token-bucket';

/** The throttler RateLimitGuard runs: the caller's per-minute limit over 60 s, one bucket per caller. */
export function rateLimitThrottlerOptions(config: AppConfig): ThrottlerModuleOptions {
  const policies = new RateLimitPolicies(config.rateLimit);
  return {
    throttlers: [
      {
        name: 'default',
        ttl: MINUTE_MS,
        limit: (context: ExecutionContext) =>
          policies.of(context.getArgByIndex<LimitedRequest>(0).user).perMinute,
        getTracker: (request) => trackerOf(request as LimitedRequest),
        generateKey: (_context, tracker) => bucketKey(tracker),
      },
    ],
  };
}

@Module({
  imports: [ThrottlerModule.forRootAsync({ inject: [AppConfig], useFactory: rateLimitThrottlerOptions })],
  providers: [RateLimiter, RateLimitGuard],
  exports: [RateLimiter, RateLimitGuard],
})
export class RateLimitModule {}

/**
 * The global guard, to list right after the AccessGuard (global guards run in registration order).
 * With RATE_LIMIT_ENABLED=false it is a guard that does nothing.
 */
export const RATE_LIMIT_GUARD: FactoryProvider = {
  provide: APP_GUARD,
  inject: [RateLimitGuard],
  useFactory: (guard: RateLimitGuard) => (guard.enabled ? guard : { canActivate: () => true }),
};
