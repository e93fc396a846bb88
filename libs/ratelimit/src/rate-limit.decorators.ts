import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { Principal } from '@app/core';
import { RateLimitOutcome } from './rate-limit-outcome';

export const FREE_OF_CHARGE = 'cocode:rate-limit-free-of-charge';
export const LONG_LIVED = 'cocode:rate-limit-long-lived';

/** What the limiter leaves on the request: its decision, false when Redis did not answer, null when it did not run. */
export interface LimitedRequest {
  user?: Principal;
  ip: string;
  url: string;
  rateLimit: RateLimitOutcome | false | null;
}

/**
 * The route spends no token and takes no in-flight slot; the limiter only reads the caller's
 * buckets (the response still carries the headers). For GET /rate-limit.
 */
export const FreeOfCharge = (): MethodDecorator => SetMetadata(FREE_OF_CHARGE, true);

/**
 * The route streams (Server-Sent Events) and stays open for minutes while doing little: it spends
 * tokens like any request but holds no in-flight slot, so that a few open streams do not use up
 * the caller's concurrency cap.
 */
export const LongLived = (): MethodDecorator => SetMetadata(LONG_LIVED, true);

/** The limiter's decision for this request; null when the limiter is off or Redis did not answer. */
export const RateLimitDecision = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): RateLimitOutcome | null =>
    ctx.switchToHttp().getRequest<LimitedRequest>().rateLimit || null,
);
