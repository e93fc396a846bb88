import { Injectable, Logger } from '@nestjs/common';
import { RedisService } from '../redis/redis.service';

export const PRINCIPAL_CHANNEL = 'auth:invalidate';

export type PrincipalChange =
  { kind: 'user'; id: string } | { kind: 'client'; id: string } | { kind: 'token'; id: string; exp: number };

/**
 * Tells every gateway that a user, an API client or a token changed, so cached principals are
 * dropped at once. Losing a message is bounded by the principal cache's TTL (AUTH_PRINCIPAL_CACHE_MS).
 */
@Injectable()
export class PrincipalEvents {
  private readonly logger = new Logger(PrincipalEvents.name);

  constructor(private readonly redis: RedisService) {}

  async publish(change: PrincipalChange): Promise<void> {
    try {
      await this.redis.client.publish(this.redis.channel(PRINCIPAL_CHANNEL), JSON.stringify(change));
    } catch (err) {
      this.logger.warn(
        `could not publish ${change.kind} change (cache TTL bounds staleness): ${(err as Error).message}`,
      );
    }
  }
}
