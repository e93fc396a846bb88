import { Injectable, Logger } from '@nestjs/common';
import { AppConfig, AppError, RedisService } from '@app/core';

/**
 * Counts failed password logins per account in Redis and refuses further attempts, before any
 * argon2 work, once the limit is reached within the window. Fails open if Redis is away.
 */
@Injectable()
export class LoginThrottle {
  private readonly logger = new Logger(LoginThrottle.name);

  constructor(
    private readonly redis: RedisService,
    private readonly config: AppConfig,
  ) {}

  private key(login: string): string {
    return `auth:login-failures:${login.toLowerCase()}`;
  }

  async assertAllowed(login: string): Promise<void> {
    try {
      const [count, ttl] = await this.redis.client
        .multi()
        .get(this.key(login))
        .ttl(this.key(login))
        .exec()
        .then((r) => r!.map(([, v]) => v));
      if (Number(count ?? 0) >= this.config.auth.loginFailureLimit) {
        throw AppError.rateLimited(
          'Too many failed sign-in attempts for this account; try again later',
          Math.max(1, Number(ttl)),
          {
            limit: 'login_failures',
          },
        );
      }
    } catch (err) {
      if (err instanceof AppError) throw err;
      this.logger.warn(`login throttle unavailable: ${(err as Error).message}`);
    }
  }

  async recordFailure(login: string): Promise<void> {
    try {
      const key = this.key(login);
      const count = await this.redis.client.incr(key);
      if (count === 1) await this.redis.client.expire(key, this.config.auth.loginFailureWindowSeconds);
    } catch (err) {
      this.logger.warn(`login throttle unavailable: ${(err as Error).message}`);
    }
  }

  async reset(login: string): Promise<void> {
    await this.redis.client.del(this.key(login)).catch(() => undefined);
  }
}
