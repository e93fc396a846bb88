import { AppConfig, AppError, LiveEvents, RedisService, Role } from '@app/core';
import { UsersService, UserStatus } from '@app/users';
import { ApiClientsRepository } from './api-clients.repository';
import { PrincipalCache, REVOKED_SESSIONS_KEY } from './principal-cache';
import { AccessTokenClaims } from './token-claims';

/** A PrincipalCache over fakes: one active user, Redis as a sorted set and a list of messages. */
function setUp(zset = new Map<string, number>(), published: string[] = []) {
  const users = {
    authState: async (id: string) => ({
      id,
      username: 'alice',
      role: Role.Developer,
      status: UserStatus.Active,
      tier: 'free',
      deleted: false,
      tokensValidAfter: null,
    }),
  } as unknown as UsersService;
  const client = {
    zadd: async (key: string, score: number, member: string) => {
      if (key === REVOKED_SESSIONS_KEY) zset.set(member, score);
    },
    publish: async (_channel: string, message: string) => published.push(message),
    zremrangebyscore: async () => 0,
    zrangebyscore: async (key: string) =>
      key === REVOKED_SESSIONS_KEY ? [...zset].flatMap(([m, s]) => [m, String(s)]) : [],
  };
  const redis = { client, channel: (name: string) => name } as unknown as RedisService;
  const live = { subscribe: async () => undefined } as unknown as LiveEvents;
  const config = {
    auth: { principalCacheMs: 1000 },
    jwt: { accessTtlSeconds: 3600, clockSkewSeconds: 5 },
  } as AppConfig;
  const cache = new PrincipalCache(users, {} as ApiClientsRepository, redis, live, config);
  return { cache, zset, published };
}

const now = () => Math.floor(Date.now() / 1000);
const claims = (sid: string | undefined, jti = 'tok'): AccessTokenClaims => ({
  sub: 'usr_1',
  role: 'developer',
  scope: 'read write',
  jti,
  iat: now(),
  exp: now() + 3600,
  iss: 'openclaw-cocode',
  aud: 'cocode-api',
  ...(sid ? { sid } : {}),
});

const refusal = async (p: Promise<unknown>): Promise<string | null> =>
  p.then(
    () => null,
    (err: AppError) => `${err.status} ${err.message}`,
  );

describe('PrincipalCache: revoked sign-ins', () => {
  it('refuses every token of a revoked sign-in at once, and only those', async () => {
    const { cache, zset, published } = setUp();
    await cache.onModuleInit();
    expect(await refusal(cache.resolve(claims('fam_1', 'a')))).toBeNull();
    await cache.revokeSession('fam_1');
    expect(await refusal(cache.resolve(claims('fam_1', 'a')))).toBe(
      '401 The sign-in of this access token has been revoked',
    );
    expect(await refusal(cache.resolve(claims('fam_1', 'b')))).toMatch(/^401/);
    expect(await refusal(cache.resolve(claims('fam_2')))).toBeNull();
    expect(await refusal(cache.resolve(claims(undefined)))).toBeNull(); // issued before sid existed
    // Kept in Redis until the last access token of the sign-in has expired, and published.
    expect(zset.get('fam_1')).toBeGreaterThanOrEqual(now() + 3600);
    expect(JSON.parse(published[0])).toEqual({ kind: 'session', id: 'fam_1', exp: zset.get('fam_1') });
  });

  it('hears of a revocation from another process, and loads the revoked ones at start', async () => {
    const { cache: other, zset, published } = setUp();
    const { cache } = setUp(zset);
    await cache.onModuleInit();
    expect(await refusal(cache.resolve(claims('fam_9')))).toBeNull();
    await other.revokeSession('fam_9');
    cache.apply(published[0]); // what the subscription delivers
    expect(await refusal(cache.resolve(claims('fam_9')))).toMatch(/^401/);
    const { cache: later } = setUp(zset);
    await later.onModuleInit();
    expect(await refusal(later.resolve(claims('fam_9')))).toMatch(/^401/);
  });
});
