import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { CurrentUser, RequirePermissions } from '@app/auth';
import { Principal } from '@app/core';
import {
  FreeOfCharge,
  RateLimitDecision,
  RateLimiter,
  RateLimitOutcome,
  RateLimitStatusDto,
} from '@app/ratelimit';

@ApiTags('rate-limit')
@Controller('rate-limit')
export class RateLimitController {
  constructor(private readonly limiter: RateLimiter) {}

  @Get()
  @RequirePermissions()
  @FreeOfCharge()
  @ApiOperation({
    summary: 'Your rate limits: the minute and hour token buckets and requests in flight',
    description:
      'Free of charge: spends no token and takes no in-flight slot. Limits follow your tier (an API client ' +
      "uses its owner's). Every /v2 response carries X-RateLimit-Limit (per minute), X-RateLimit-Remaining " +
      '(tokens left in the tighter bucket), X-RateLimit-Reset (Unix seconds when the minute bucket is full ' +
      'again), RateLimit-Policy and RateLimit; a 429 RATE_LIMITED adds Retry-After and names the limit in ' +
      'details.limit (minute, hour or concurrency).',
  })
  @ApiOkResponse({ type: RateLimitStatusDto })
  @ApiServiceUnavailableResponse({ description: 'Redis, which holds the buckets, did not answer' })
  status(
    @CurrentUser() principal: Principal,
    @RateLimitDecision() reading: RateLimitOutcome | null,
  ): RateLimitStatusDto {
    return this.limiter.status(principal, reading);
  }
}
