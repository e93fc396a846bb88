import { Injectable, Logger } from '@nestjs/common';
import { AppConfig, AppError, RedisService } from '@app/core';
import { normalizeIp } from '@nestjs/throttler';

/** Who a failed sign-in counts against: the account (a user id, or the login if none) and the IP. */
export interface LoginSource {
  /** The resolved user id; for a login that names no user, `login:<lower-cased login>`. */
  account: string;
  /** The client IP (an IPv6 address counts by its /64). */
  ip: string;
}

type Counter = 'pair' | 'account' | 'ip';

/**
 * Counts failed password logins in Redis and refuses further attempts, before any argon2 work,
 * once a limit is reached within AUTH_LOGIN_FAILURE_WINDOW_SECONDS:
 * - per account and IP (AUTH_LOGIN_FAILURE_LIMIT, 10): guessing from one place stops quickly,
 *   and only for that place, so a stranger cannot lock a user out of their own sign-ins;
 * - per account from anywhere (AUTH_LOGIN_ACCOUNT_FAILURE_LIMIT, 100): a distributed guess;
 * - per IP over all accounts (AUTH_LOGIN_IP_FAILURE_LIMIT, 50): one place trying many accounts.
 * The account is the resolved user, so its username and e-mail (in any case) share counters.
 * A success clears the pair and account counters, never the IP's. Fails open if Redis is away.
 */
@Injectable()
export class LoginThrottle {
  private readonly logger = new Logger(LoginThrottle.name);

  constructor(
    private readonly redis: RedisService,
    private readonly config: AppConfig,
  ) {}

  static accountOf(userId: string | null | undefined, login: string): string {
    return userId ?? `login:${login.toLowerCase()}`;
  }

  private keys(source: LoginSource): Array<[Counter, string, number]> {
    const ip = normalizeIp(source.ip || 'unknown');
    const { loginFailureLimit, loginAccountFailureLimit, loginIpFailureLimit } = this.config.auth;
    return [
      ['pair', `auth:login-failures:pair:${source.account}:${ip}`, loginFailureLimit],
      ['account', `auth:login-failures:account:${source.account}`, loginAccountFailureLimit],
      ['ip', `auth:login-failures:ip:${ip}`, loginIpFailureLimit],
    ];
  }

  async assertAllowed(source: LoginSource): Promise<void> {
    try {
      const keys = this.keys(source);
      const multi = this.redis.client.multi();
      for (const [, key] of keys) multi.get(key).ttl(key);
      const values = (await multi.exec())!.map(([, v]) => v);
      keys.forEach(([counter, , limit], i) => {
        const count = Number(values[2 * i] ?? 0);
        if (count >= limit) {
          throw AppError.rateLimited(
            counter === 'ip'
              ? 'Too many failed sign-in attempts from this address; try again later'
              : 'Too many failed sign-in attempts for this account; try again later',
            Math.max(1, Number(values[2 * i + 1])),
            { limit: counter === 'ip' ? 'login_failures_ip' : 'login_failures' },
          );
        }
      });
    } catch (err) {
      if (err instanceof AppError) throw err;
      this.logger.warn(`login throttle unavailable: ${(err as Error).message}`);
    }
  }

  async recordFailure(source: LoginSource): Promise<void> {
    try {
      const multi = this.redis.client.multi();
      // The window starts with the first failure and is not extended by later ones.
      for (const [, key] of this.keys(source))
        multi.set(key, 0, 'EX', this.config.auth.loginFailureWindowSeconds, 'NX').incr(key);
      await multi.exec();
    } catch (err) {
      this.logger.warn(`login throttle unavailable: ${(err as Error).message}`);
    }
  }

  async reset(source: LoginSource): Promise<void> {
    const keys = this.keys(source)
      .filter(([counter]) => counter !== 'ip')
      .map(([, key]) => key);
    await this.redis.client.del(...keys).catch(() => undefined);
  }
}
