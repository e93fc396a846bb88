import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import {
  AppConfig,
  AppError,
  LiveEvents,
  maxScopesFor,
  Principal,
  PRINCIPAL_CHANNEL,
  PrincipalChange,
  RedisService,
  Scope,
} from '@app/core';
import { UserAuthState, UsersService, UserStatus } from '@app/users';
import { Repository } from 'typeorm';
import { ApiClientEntity } from './api-client.entity';
import { AccessTokenClaims } from './token-claims';

interface Cached<T> {
  value: T;
  at: number;
}

export const REVOKED_TOKENS_KEY = 'auth:revoked-tokens';

/**
 * Turns verified token claims into a Principal without a database round trip per request:
 * user and client facts are cached for AUTH_PRINCIPAL_CACHE_MS (1 s by default) and dropped at
 * once when any process publishes a change (suspension, role change, deletion, client removal,
 * token revocation) on Redis.
 */
@Injectable()
export class PrincipalCache implements OnModuleInit {
  private readonly logger = new Logger(PrincipalCache.name);
  private readonly users = new Map<string, Cached<UserAuthState | null>>();
  private readonly clients = new Map<string, Cached<{ ownerId: string } | null>>();
  private readonly loading = new Map<string, Promise<unknown>>();
  /** Revoked access-token ids -> their expiry (Unix seconds). */
  private readonly revoked = new Map<string, number>();

  constructor(
    private readonly usersService: UsersService,
    @InjectRepository(ApiClientEntity) private readonly clientsRepo: Repository<ApiClientEntity>,
    private readonly redis: RedisService,
    private readonly live: LiveEvents,
    private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    // Not awaited: start even with Redis away. Re-subscribing after a reconnect is done by ioredis;
    // anything missed meanwhile ages out of the cache.
    void this.live.subscribe(PRINCIPAL_CHANNEL, (message) => this.apply(message));
    try {
      const now = Math.floor(Date.now() / 1000);
      await this.redis.client.zremrangebyscore(REVOKED_TOKENS_KEY, '-inf', now);
      const entries = await this.redis.client.zrangebyscore(REVOKED_TOKENS_KEY, now, '+inf', 'WITHSCORES');
      for (let i = 0; i < entries.length; i += 2) this.revoked.set(entries[i], Number(entries[i + 1]));
    } catch (err) {
      this.logger.warn(`could not load revoked tokens: ${(err as Error).message}`);
    }
  }

  /** Applies a change message from any process (also called locally by the publisher's process). */
  apply(message: string): void {
    let change: PrincipalChange;
    try {
      change = JSON.parse(message) as PrincipalChange;
    } catch {
      return;
    }
    if (change.kind === 'user') this.users.delete(change.id);
    else if (change.kind === 'client') this.clients.delete(change.id);
    else if (change.kind === 'token') this.revoked.set(change.id, change.exp);
  }

  async resolve(claims: AccessTokenClaims): Promise<Principal> {
    const now = Date.now();
    if (this.revoked.has(claims.jti)) throw AppError.unauthorized('Access token has been revoked', {}, true);
    const user = await this.cached(this.users, `u:${claims.sub}`, claims.sub, now, () =>
      this.usersService.authState(claims.sub),
    );
    if (!user || user.deleted)
      throw AppError.unauthorized('The user of this token no longer exists', {}, true);
    if (user.status !== UserStatus.Active)
      throw AppError.unauthorized(`The user of this token is ${user.status}`, {}, true);
    if (user.tokensValidAfter && claims.iat < Math.floor(user.tokensValidAfter.getTime() / 1000)) {
      throw AppError.unauthorized('Access token was issued before the password was changed', {}, true);
    }
    if (claims.cid) {
      const client = await this.cached(this.clients, `c:${claims.cid}`, claims.cid, now, () =>
        this.clientsRepo.findOne({ where: { id: claims.cid }, select: { id: true, ownerId: true } }),
      );
      if (!client) throw AppError.unauthorized('The API client of this token no longer exists', {}, true);
    }
    // The token's scopes, never beyond what the user's current role allows.
    const allowed = maxScopesFor(user.role);
    const scopes = claims.scope.split(' ').filter((s): s is Scope => allowed.includes(s as Scope));
    if (this.revoked.size > 1000) this.pruneRevoked();
    return new Principal(
      user.id,
      user.username,
      user.role,
      scopes,
      user.tier,
      claims.jti,
      new Date(claims.exp * 1000),
      claims.cid ?? null,
    );
  }

  /** Marks an access token revoked everywhere until it would have expired anyway. */
  async revokeToken(jti: string, exp: number): Promise<void> {
    await this.redis.client.zadd(REVOKED_TOKENS_KEY, exp, jti);
    const change: PrincipalChange = { kind: 'token', id: jti, exp };
    this.apply(JSON.stringify(change));
    await this.redis.client.publish(this.redis.channel(PRINCIPAL_CHANNEL), JSON.stringify(change));
  }

  private async cached<T>(
    map: Map<string, Cached<T>>,
    loadKey: string,
    id: string,
    now: number,
    load: () => Promise<T>,
  ): Promise<T> {
    const hit = map.get(id);
    if (hit && now - hit.at < this.config.auth.principalCacheMs) return hit.value;
    // One load per id at a time, however many requests wait for it.
    let pending = this.loading.get(loadKey) as Promise<T> | undefined;
    if (!pending) {
      pending = load()
        .then((value) => {
          map.set(id, { value, at: Date.now() });
          return value;
        })
        .finally(() => this.loading.delete(loadKey));
      this.loading.set(loadKey, pending);
    }
    return pending;
  }

  private pruneRevoked(): void {
    const now = Math.floor(Date.now() / 1000);
    for (const [jti, exp] of this.revoked) if (exp < now) this.revoked.delete(jti);
  }
}
