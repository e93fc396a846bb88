import { ApiProperty } from '@nestjs/swagger';
import { iso } from '@app/core';
import { hourResetOf, minuteResetOf, RateLimitOutcome } from './rate-limit-outcome';
import { RateLimitPolicy } from './rate-limit-policy';

export class RateLimitBucketDto {
  @ApiProperty({ example: 60, description: 'Capacity: requests per window' }) limit: number;
  @ApiProperty({ example: 60, description: 'The window over which the bucket refills completely' })
  windowSeconds: number;
  @ApiProperty({ example: 57, nullable: true, type: Number, description: 'Whole tokens left now' })
  remaining: number | null;
  @ApiProperty({
    example: '2026-03-14T09:16:00Z',
    nullable: true,
    type: String,
    description: 'When the bucket is full again',
  })
  resetAt: string | null;
}

export class RateLimitConcurrencyDto {
  @ApiProperty({ example: 5, description: 'Requests allowed in flight at once' }) limit: number;
  @ApiProperty({ example: 0, nullable: true, type: Number, description: 'Your other requests in flight now' })
  inFlight: number | null;
}

export class RateLimitStatusDto {
  @ApiProperty({ example: 'free', enum: ['free', 'pro', 'enterprise'] }) tier: string;
  @ApiProperty({ description: 'false when the limiter is switched off (RATE_LIMIT_ENABLED=false)' })
  enforced: boolean;
  @ApiProperty({ type: RateLimitBucketDto }) minute: RateLimitBucketDto;
  @ApiProperty({ type: RateLimitBucketDto }) hour: RateLimitBucketDto;
  @ApiProperty({ type: RateLimitConcurrencyDto }) concurrency: RateLimitConcurrencyDto;
}

const isoSeconds = (unixSeconds: number): string => iso(new Date(unixSeconds * 1000));

/** The caller's limits, and with a reading of their buckets (outcome) how much is left. */
export function mapRateLimitStatus(
  policy: RateLimitPolicy,
  outcome: RateLimitOutcome | null,
  enforced: boolean,
): RateLimitStatusDto {
  return {
    tier: policy.name,
    enforced,
    minute: {
      limit: policy.perMinute,
      windowSeconds: Math.ceil(policy.minuteWindowMs / 1000),
      remaining: outcome ? Math.floor(outcome.minuteTokens) : null,
      resetAt: outcome ? isoSeconds(minuteResetOf(outcome)) : null,
    },
    hour: {
      limit: policy.perHour,
      windowSeconds: Math.ceil(policy.hourWindowMs / 1000),
      remaining: outcome ? Math.floor(outcome.hourTokens) : null,
      resetAt: outcome ? isoSeconds(hourResetOf(outcome)) : null,
    },
    concurrency: { limit: policy.concurrent, inFlight: outcome ? outcome.inFlight : null },
  };
}
