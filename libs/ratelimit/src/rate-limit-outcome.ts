import { AppError } from '@app/core';
import { RateLimitPolicy } from './rate-limit-policy';
import {
  RateLimitReplies,
  REFUSAL_CONCURRENCY,
  REFUSAL_HOUR,
  REFUSAL_MINUTE,
  REPLY_WIDTH,
} from './rate-limit-script';
import { msUntilAvailable, msUntilFull } from './token-bucket';

export type LimitName = 'minute' | 'hour' | 'concurrency';

/** One decision of the limiter for one request. */
export interface RateLimitOutcome {
  policy: RateLimitPolicy;
  /** The limit that refused the request; null when it may pass (or it was only a look). */
  refusedBy: LimitName | null;
  /** Tokens left (to 1/1000) after this request. */
  minuteTokens: number;
  hourTokens: number;
  /** Redis's clock at the decision (ms since the epoch). */
  now: number;
  /** Requests of this caller in flight, this one included when it took a slot. */
  inFlight: number;
  /** The caller's key (with the Redis prefix) and this request's in-flight slot; null when it took none. */
  key: string | null;
  slot: string | null;
  /** The same two as RESP bulk strings, for the release. */
  keyWire: string | null;
  slotWire: string | null;
}

const REFUSALS: Array<LimitName | null> = [];
REFUSALS[REFUSAL_MINUTE] = 'minute';
REFUSALS[REFUSAL_HOUR] = 'hour';
REFUSALS[REFUSAL_CONCURRENCY] = 'concurrency';

/** The outcome of the index-th decision of a batch. */
export function outcomeOf(
  replies: RateLimitReplies,
  index: number,
  policy: RateLimitPolicy,
  key: string | null,
  slot: string | null,
  keyWire: string | null = null,
  slotWire: string | null = null,
): RateLimitOutcome {
  const at = index * REPLY_WIDTH;
  const allowed = replies[at] === 1;
  return {
    policy,
    refusedBy: allowed ? null : (REFUSALS[replies[at + 1]] ?? 'concurrency'),
    minuteTokens: replies[at + 2] / 1000,
    hourTokens: replies[at + 3] / 1000,
    now: replies[at + 4],
    inFlight: replies[at + 5],
    key: allowed ? key : null,
    slot: allowed ? slot : null,
    keyWire: allowed ? keyWire : null,
    slotWire: allowed ? slotWire : null,
  };
}

/** Tokens left in the tighter bucket (X-RateLimit-Remaining). */
export function remainingOf(o: RateLimitOutcome): number {
  return Math.max(0, Math.floor(Math.min(o.minuteTokens, o.hourTokens)));
}

/** When the minute bucket is full again, in Unix seconds (X-RateLimit-Reset). */
export function minuteResetOf(o: RateLimitOutcome): number {
  const p = o.policy;
  return Math.ceil((o.now + msUntilFull(o.minuteTokens, p.perMinute, p.minuteWindowMs)) / 1000);
}

/** When the hour bucket is full again, in Unix seconds. */
export function hourResetOf(o: RateLimitOutcome): number {
  const p = o.policy;
  return Math.ceil((o.now + msUntilFull(o.hourTokens, p.perHour, p.hourWindowMs)) / 1000);
}

/** Seconds until the refused request could pass (Retry-After): the next token, or a freed slot. */
export function retryAfterOf(o: RateLimitOutcome): number {
  const p = o.policy;
  let ms: number;
  if (o.refusedBy === 'minute') ms = msUntilAvailable(o.minuteTokens, p.perMinute, p.minuteWindowMs);
  else if (o.refusedBy === 'hour') ms = msUntilAvailable(o.hourTokens, p.perHour, p.hourWindowMs);
  else ms = 1000; // a slot frees when any of the caller's requests ends: try again shortly
  return Math.max(1, Math.ceil(ms / 1000));
}

export interface HeaderSink {
  header(name: string, value: string): unknown;
}

/**
 * The seed's three headers and the IETF pair (RateLimit-Policy lists both buckets; RateLimit
 * names the tighter one, with r = tokens left and t = seconds until it is full again).
 */
export function applyRateLimitHeaders(reply: HeaderSink, o: RateLimitOutcome): void {
  const p = o.policy;
  const remaining = remainingOf(o);
  const minuteFullMs = msUntilFull(o.minuteTokens, p.perMinute, p.minuteWindowMs);
  reply.header('X-RateLimit-Limit', p.limitHeader);
  reply.header('X-RateLimit-Remaining', String(remaining));
  reply.header('X-RateLimit-Reset', String(Math.ceil((o.now + minuteFullMs) / 1000)));
  reply.header('RateLimit-Policy', p.policyHeader);
  reply.header(
    'RateLimit',
    o.hourTokens < o.minuteTokens
      ? `"hour";r=${remaining};t=${Math.ceil(msUntilFull(o.hourTokens, p.perHour, p.hourWindowMs) / 1000)}`
      : `"minute";r=${remaining};t=${Math.ceil(minuteFullMs / 1000)}`,
  );
}

/** The 429 RATE_LIMITED for a refused request: Retry-After, and details naming the limit. */
export function refusalError(o: RateLimitOutcome): AppError {
  const p = o.policy;
  const retryAfterSeconds = retryAfterOf(o);
  const who = p.scope === 'user' ? { scope: p.scope, tier: p.name } : { scope: p.scope };
  if (o.refusedBy === 'concurrency') {
    return AppError.rateLimited(
      `Too many requests in flight: at most ${p.concurrent} at once for ${p.label}`,
      retryAfterSeconds,
      { limit: 'concurrency', ...who, max: p.concurrent, inFlight: o.inFlight, retryAfterSeconds },
    );
  }
  const hour = o.refusedBy === 'hour';
  const max = hour ? p.perHour : p.perMinute;
  const windowSeconds = Math.ceil((hour ? p.hourWindowMs : p.minuteWindowMs) / 1000);
  return AppError.rateLimited(
    `Rate limit exceeded: ${max} requests per ${hour ? 'hour' : 'minute'} for ${p.label}; ` +
      `retry in ${retryAfterSeconds} s`,
    retryAfterSeconds,
    {
      limit: hour ? 'hour' : 'minute',
      ...who,
      max,
      windowSeconds,
      remaining: Math.floor(hour ? o.hourTokens : o.minuteTokens),
      retryAfterSeconds,
    },
  );
}
