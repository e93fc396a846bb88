import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
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
import { ApiClientsRepository } from './api-clients.repository';
import { AccessTokenClaims } from './token-claims';

interface Cached<T> {
  value: T;
  at: number;
}

export const REVOKED_TOKENS_KEY = 'auth:revoked-tokens';
export const REVOKED_SESSIONS_KEY = 'auth:revoked-sessions';

/**
 * Turns verified token claims into a Principal without a database round trip per request:
 * user and client facts are cached for AUTH_PRINCIPAL_CACHE_MS (1 s by default) and dropped at
 * once when any process publishes a change (suspension, role change, deletion, client removal,
 * token or sign-in revocation) on Redis. Revoked token ids and sign-in ids are kept in Redis
 * (loaded at start) and in memory until the last access token they cover has expired.
 */
@Injectable()
export class PrincipalCache implements OnModuleInit {
  private readonly logger = new Logger(PrincipalCache.name);
  private readonly users = new Map<string, Cached<UserAuthState | null>>();
  private readonly clients = new Map<string, Cached<{ ownerId: string } | null>>();
  private readonly loading = new Map<string, Promise<unknown>>();
  /** Revoked access-token ids -> their expiry (Unix seconds). */
  private readonly revoked = new Map<string, number>();
  /** Revoked sign-ins (the `sid` claim) -> when their last access token expires (Unix seconds). */
  private readonly revokedSessions = new Map<string, number>();

  constructor(
    private readonly usersService: UsersService,
    private readonly clientsRepo: ApiClientsRepository,
    private readonly redis: RedisService,
    private readonly live: LiveEvents,
    private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    // Not awaited: start even with Redis away. Re-subscribing after a reconnect is done by ioredis;
    // anything missed meanwhile ages out of the cache.
    void this.live.subscribe(PRINCIPAL_CHANNEL, (message) => this.apply(message));
    await this.load(REVOKED_TOKENS_KEY, this.revoked);
    await this.load(REVOKED_SESSIONS_KEY, this.revokedSessions);
  }

  private async load(key: string, into: Map<string, number>): Promise<void> {
    try {
      const now = Math.floor(Date.now() / 1000);
      await this.redis.client.zremrangebyscore(key, '-inf', now);
      const entries = await this.redis.client.zrangebyscore(key, now, '+inf', 'WITHSCORES');
      for (let i = 0; i < entries.length; i += 2) into.set(entries[i], Number(entries[i + 1]));
    } catch (err) {
      this.logger.warn(`could not load ${key}: ${(err as Error).message}`);
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
    else if (change.kind === 'session') this.revokedSessions.set(change.id, change.exp);
  }

  async resolve(claims: AccessTokenClaims): Promise<Principal> {
    const now = Date.now();
    if (this.revoked.has(claims.jti)) throw AppError.unauthorized('Access token has been revoked', {}, true);
    if (claims.sid && this.revokedSessions.has(claims.sid))
      throw AppError.unauthorized('The sign-in of this access token has been revoked', {}, true);
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
    const cid = claims.cid;
    if (cid) {
      const client = await this.cached(this.clients, `c:${cid}`, cid, now, () =>
        this.clientsRepo.findOwner(cid),
      );
      if (!client) throw AppError.unauthorized('The API client of this token no longer exists', {}, true);
    }
    // The token's scopes, never beyond what the user's current role allows.
    const allowed = maxScopesFor(user.role);
    const scopes = claims.scope.split(' ').filter((s): s is Scope => allowed.includes(s as Scope));
    if (this.revoked.size > 1000) this.prune(this.revoked);
    if (this.revokedSessions.size > 1000) this.prune(this.revokedSessions);
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

  /**
   * Refuses every access token of a sign-in (its `sid`) everywhere, until the last one it could
   * have been issued has expired. Applied locally first, so this process refuses them even if
   * Redis is away.
   */
  async revokeSession(sid: string): Promise<void> {
    const exp =
      Math.ceil(Date.now() / 1000) + this.config.jwt.accessTtlSeconds + this.config.jwt.clockSkewSeconds;
    const change: PrincipalChange = { kind: 'session', id: sid, exp };
    this.apply(JSON.stringify(change));
    await this.redis.client.zadd(REVOKED_SESSIONS_KEY, exp, sid);
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

  private prune(map: Map<string, number>): void {
    const now = Math.floor(Date.now() / 1000);
    for (const [id, exp] of map) if (exp < now) map.delete(id);
  }
}
