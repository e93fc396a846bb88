/**
 * Delay before attempt `nextAttempt` (2, 3, ...): base * 3^(nextAttempt - 2), +-20% jitter, so with
 * the default one-minute base eight tries span about 18 hours. A receiver's Retry-After wins when
 * it asks for longer; nothing waits more than a day.
 */
export function retryDelayMs(
  nextAttempt: number,
  baseMs: number,
  retryAfterMs: number | null,
  random: () => number = Math.random,
): number {
  const exponential = baseMs * 3 ** Math.max(0, nextAttempt - 2);
  const jittered = exponential * (0.8 + 0.4 * random());
  const delay = Math.max(jittered, retryAfterMs ?? 0);
  return Math.round(Math.min(delay, 24 * 3600 * 1000));
}

/** Retry-After as delta-seconds or an HTTP date, in milliseconds from now; null when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}
