import { normalizeIp } from '@nestjs/throttler';

/**
 * Who a request counts against: its user (an API client's token carries its owner, so a user's
 * clients share the user's budget) or, unauthenticated, the client IP (an IPv6 address by its /64,
 * which one host usually owns; behind a load balancer request.ip needs TRUST_PROXY=true).
 */
export function trackerOf(request: { user?: { userId: string } | null; ip: string }): string {
  return request.user ? `u:${request.user.userId}` : `ip:${normalizeIp(request.ip)}`;
}

/** The hash of a caller's two buckets and requests in flight (under the process's Redis prefix). */
export function bucketKey(tracker: string): string {
  return `rl:${tracker}`;
}
