import { Injectable } from '@nestjs/common';
import { LiveEvents } from '../redis/live-events';

export const PRINCIPAL_CHANNEL = 'auth:invalidate';

export type PrincipalChange =
  | { kind: 'user'; id: string }
  | { kind: 'client'; id: string }
  | { kind: 'token'; id: string; exp: number }
  /** A sign-in (refresh-token family, the access tokens' `sid`) revoked until `exp`. */
  | { kind: 'session'; id: string; exp: number };

/**
 * Tells every gateway that a user, an API client or a token changed, so cached principals are
 * dropped at once. Losing a message is bounded by the principal cache's TTL (AUTH_PRINCIPAL_CACHE_MS).
 */
@Injectable()
export class PrincipalEvents {
  constructor(private readonly live: LiveEvents) {}

  /** A failure is logged, not thrown: the cache's TTL bounds how long a change goes unseen. */
  publish(change: PrincipalChange): Promise<void> {
    return this.live.publish(PRINCIPAL_CHANNEL, JSON.stringify(change));
  }
}
