import { connect } from 'node:net';
import { bucketKey } from '@app/ratelimit/rate-limit-keys';
import type { Response } from 'supertest';
import TestAgent from 'supertest/lib/agent';
import { eventually, expectEnvelope, METRICS_TOKEN, SEED_RATE_LIMITS, TestSystem } from '../support/system';
import { REDIS_URL } from '../support/env';
import { proxyFor } from '../support/tcp-proxy';

const POLICY_FREE = '"minute";q=60;w=60, "hour";q=1000;w=3600';

/** `count` GETs as `token`, `width` at a time (below the caller's in-flight cap), in order. */
async function burst(http: TestAgent, path: string, token: string, count: number, width = 4) {
  const out: Response[] = [];
  for (let i = 0; i < count; i += width) {
    const wave = Array.from({ length: Math.min(width, count - i) }, () =>
      http.get(path).auth(token, { type: 'bearer' }),
    );
    out.push(...(await Promise.all(wave)));
  }
  return out;
}

async function setTier(system: TestSystem, userId: string, token: string, tier: string): Promise<void> {
  await system.http
    .put(`/v2/users/${userId}`)
    .auth(await system.adminToken(), { type: 'bearer' })
    .send({ tier })
    .expect(200);
  // Gateways drop their cached user at once (Redis pub/sub); wait until this one has.
  await eventually(async () => {
    const res = await system.http.get('/v2/rate-limit').auth(token, { type: 'bearer' });
    return res.body.tier === tier;
  });
}

describe("rate limits with the seed's defaults", () => {
  let system: TestSystem;

  beforeAll(async () => {
    system = await TestSystem.start({ worker: false, env: SEED_RATE_LIMITS });
  });
  afterAll(() => system?.stop());

  it('refuses the 61st request of a free user within a minute: 429 RATE_LIMITED with the headers', async () => {
    const user = await system.userWithRole('developer');
    const started = Date.now();
    const responses = await burst(system.http, '/v2/users/me', user.token, 60);
    // Then one at a time until the first refusal.
    let last = await system.http.get('/v2/users/me').auth(user.token, { type: 'bearer' });
    while (last.status === 200 && responses.length < 120) {
      responses.push(last);
      last = await system.http.get('/v2/users/me').auth(user.token, { type: 'bearer' });
    }
    const elapsedMs = Date.now() - started;

    expect(responses.map((r) => r.status)).toEqual(new Array(responses.length).fill(200));
    // The minute bucket refills one token a second: when all came within a second (here they
    // take a few hundred ms) the 61st is the first refused; a slower machine gets one more a second.
    expect(responses.length).toBeGreaterThanOrEqual(60);
    expect(responses.length).toBeLessThanOrEqual(60 + Math.floor(elapsedMs / 1000));
    if (elapsedMs < 1000) expect(responses.length).toBe(60);
    const first = responses[0];
    expect(first.headers['x-ratelimit-limit']).toBe('60');
    expect(first.headers['x-ratelimit-remaining']).toBe('59');
    expect(first.headers['ratelimit-policy']).toBe(POLICY_FREE);
    expect(first.headers.ratelimit).toBe('"minute";r=59;t=1');

    expect(last.status).toBe(429);
    const error = expectEnvelope(last.body, 'RATE_LIMITED');
    expect(error.details).toEqual({
      limit: 'minute',
      scope: 'user',
      tier: 'free',
      max: 60,
      windowSeconds: 60,
      remaining: 0,
      retryAfterSeconds: 1,
    });
    expect(last.headers['retry-after']).toBe('1');
    expect(last.headers['x-ratelimit-limit']).toBe('60');
    expect(last.headers['x-ratelimit-remaining']).toBe('0');
    const reset = Number(last.headers['x-ratelimit-reset']) - Date.now() / 1000;
    expect(reset).toBeGreaterThan(55);
    expect(reset).toBeLessThanOrEqual(61);
    expect(last.headers['ratelimit-policy']).toBe(POLICY_FREE);
    expect(last.headers.ratelimit).toMatch(/^"minute";r=0;t=(59|60)$/);
  });

  it('does not limit a pro user there (300 a minute)', async () => {
    const user = await system.userWithRole('developer');
    await setTier(system, user.id, user.token, 'pro');
    const responses = await burst(system.http, '/v2/users/me', user.token, 80, 10);
    expect(responses.map((r) => r.status)).toEqual(new Array(80).fill(200));
    const last = responses[79];
    expect(last.headers['x-ratelimit-limit']).toBe('300');
    expect(Number(last.headers['x-ratelimit-remaining'])).toBeGreaterThanOrEqual(300 - 81);
    expect(last.headers['ratelimit-policy']).toBe('"minute";q=300;w=60, "hour";q=10000;w=3600');
  });

  it('reports the caller’s buckets at GET /v2/rate-limit, free of charge', async () => {
    const user = await system.userWithRole('tester');
    await burst(system.http, '/v2/users/me', user.token, 3);
    const read = () => system.http.get('/v2/rate-limit').auth(user.token, { type: 'bearer' }).expect(200);
    const first = await read();
    const second = await read();
    expect(first.body).toEqual({
      tier: 'free',
      enforced: true,
      minute: {
        limit: 60,
        windowSeconds: 60,
        remaining: expect.any(Number),
        resetAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      },
      hour: { limit: 1000, windowSeconds: 3600, remaining: 997, resetAt: expect.any(String) },
      concurrency: { limit: 5, inFlight: 0 },
    });
    expect([57, 58]).toContain(first.body.minute.remaining);
    // Reading spent nothing: the second reading has at least as much left.
    expect(second.body.minute.remaining).toBeGreaterThanOrEqual(first.body.minute.remaining);
    expect(second.body.hour.remaining).toBe(997);
    expect(first.headers['x-ratelimit-remaining']).toBe(String(first.body.minute.remaining));
    expect(first.headers['x-ratelimit-limit']).toBe('60');
  });

  it("counts an API client's requests against its owner, with the owner's tier", async () => {
    const owner = await system.userWithRole('developer');
    const created = await system.http
      .post('/v2/auth/clients')
      .auth(owner.token, { type: 'bearer' })
      .send({ name: 'ci-bot' })
      .expect(201);
    const clientToken = await system.token({
      grant_type: 'client_credentials',
      client_id: created.body.client_id,
      client_secret: created.body.client_secret,
    });
    await burst(system.http, '/v2/users/me', clientToken, 5);
    const asClient = await system.http
      .get('/v2/rate-limit')
      .auth(clientToken, { type: 'bearer' })
      .expect(200);
    const asOwner = await system.http.get('/v2/rate-limit').auth(owner.token, { type: 'bearer' }).expect(200);
    expect(asClient.body.tier).toBe('free');
    // The owner created the client (1 request) and the client made 5: one budget of 1000 an hour.
    expect(asOwner.body.hour.remaining).toBe(994);
    expect(asClient.body.hour.remaining).toBe(994);
  });

  it('puts the headers on error responses too, and none on health, metrics and docs', async () => {
    const user = await system.userWithRole('viewer');
    const notFound = await system.http.get('/v2/users/usr_nobody').auth(user.token, { type: 'bearer' });
    expect(notFound.status).toBe(404);
    expect(notFound.headers['x-ratelimit-limit']).toBe('60');
    const invalid = await system.http.get('/v2/users?pageSize=1000').auth(user.token, { type: 'bearer' });
    expect(invalid.status).toBe(422);
    expect(invalid.headers['x-ratelimit-remaining']).toBeDefined();
    const forbidden = await system.http.get('/v2/audit-logs').auth(user.token, { type: 'bearer' });
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers['x-ratelimit-limit']).toBe('60');
    // No token: the caller is the client IP.
    const anonymous = await system.http.get('/v2/users/me');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['x-ratelimit-limit']).toBe('20');
    expect(anonymous.headers['ratelimit-policy']).toBe('"minute";q=20;w=60, "hour";q=600;w=3600');
    const unknown = await system.http.get('/v2/no/such/route');
    expect(unknown.status).toBe(404);
    expect(unknown.headers['x-ratelimit-limit']).toBe('20');
    for (const path of ['/health/live', '/health/ready', '/metrics', '/docs-json']) {
      const res = await system.http.get(path).auth(METRICS_TOKEN, { type: 'bearer' });
      expect(res.status).toBe(200);
      expect(res.headers).not.toHaveProperty('x-ratelimit-limit');
    }
  });
});

describe('rate limits across gateways, in flight and per IP (small limits)', () => {
  let system: TestSystem;

  beforeAll(async () => {
    system = await TestSystem.start({
      worker: false,
      env: {
        ...SEED_RATE_LIMITS,
        TRUST_PROXY: 'true',
        RATE_LIMIT_FREE_PER_MINUTE: '10',
        RATE_LIMIT_FREE_CONCURRENT: '50',
        RATE_LIMIT_PRO_PER_MINUTE: '1000',
        RATE_LIMIT_PRO_PER_HOUR: '100000',
        RATE_LIMIT_PRO_CONCURRENT: '3',
        RATE_LIMIT_IP_PER_MINUTE: '8',
        RATE_LIMIT_IP_PER_HOUR: '100',
      },
    });
  });
  afterAll(() => system?.stop());

  /** The user's hash in Redis: both buckets (fields m, h, t) and one field per request in flight. */
  const userKey = (userId: string) => `${system.prefix}:${bucketKey(`u:${userId}`)}`;
  const slotsOf = async (userId: string) =>
    (await system.redis.hkeys(userKey(userId))).filter((f) => !['m', 'h', 't'].includes(f));

  it('shares one budget between two gateway processes', async () => {
    const second = await system.startGateway();
    const user = await system.userWithRole('developer');
    const gateways = [system.http, second.http];
    const responses: Response[] = [];
    for (let i = 0; i < 12; i++) {
      responses.push(await gateways[i % 2].get('/v2/users/me').auth(user.token, { type: 'bearer' }));
    }
    expect(responses.map((r) => r.status)).toEqual([...new Array(10).fill(200), 429, 429]);
    // Each gateway saw the other's spending.
    expect(responses.slice(0, 10).map((r) => r.headers['x-ratelimit-remaining'])).toEqual(
      ['9', '8', '7', '6', '5', '4', '3', '2', '1', '0'].map(String),
    );
    expect(responses[11].body.error.details).toEqual(expect.objectContaining({ limit: 'minute', max: 10 }));
  });

  describe('requests in flight', () => {
    let user: { id: string; token: string };

    beforeAll(async () => {
      user = await system.userWithRole('developer');
      await setTier(system, user.id, user.token, 'pro'); // here: 3 in flight, 1000 a minute
    });

    it('refuses with 429 (details.limit "concurrency") while the cap is taken', async () => {
      const key = userKey(user.id);
      const until = Date.now() + 60_000;
      await system.redis.hset(key, 'other-1', until, 'other-2', until, 'other-3', until);
      try {
        const res = await system.http.get('/v2/users/me').auth(user.token, { type: 'bearer' });
        expect(res.status).toBe(429);
        expect(res.headers['retry-after']).toBe('1');
        expect(res.headers['x-ratelimit-limit']).toBe('1000');
        expect(expectEnvelope(res.body, 'RATE_LIMITED').details).toEqual({
          limit: 'concurrency',
          scope: 'user',
          tier: 'pro',
          max: 3,
          inFlight: 3,
          retryAfterSeconds: 1,
        });
        // A request that was refused took no slot.
        expect((await slotsOf(user.id)).sort()).toEqual(['other-1', 'other-2', 'other-3']);
      } finally {
        await system.redis.del(key);
      }
    });

    it('stops counting entries whose lifetime ended (a gateway crashed before releasing them)', async () => {
      const past = Date.now() - 1;
      await system.redis.hset(userKey(user.id), 'crashed-1', past, 'crashed-2', past, 'crashed-3', past);
      const res = await system.http.get('/v2/users/me').auth(user.token, { type: 'bearer' });
      expect(res.status).toBe(200);
      await eventually(async () => (await slotsOf(user.id)).length === 0);
    });

    it('lets at most the cap through in a real burst, and releases every slot when the responses end', async () => {
      const responses = await Promise.all(
        Array.from({ length: 40 }, () =>
          system.http.get('/v2/users?pageSize=100').auth(user.token, { type: 'bearer' }),
        ),
      );
      const statuses = responses.map((r) => r.status);
      expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(3);
      const refused = responses.filter((r) => r.status === 429);
      expect(refused.length).toBeGreaterThan(0);
      for (const r of refused) expect(r.body.error.details.limit).toBe('concurrency');
      await eventually(async () => (await slotsOf(user.id)).length === 0);
    });

    it('releases the slots of failed requests and of clients that hung up', async () => {
      await system.http.get('/v2/users/usr_nobody').auth(user.token, { type: 'bearer' }).expect(404);
      await system.http.get('/v2/users?pageSize=1000').auth(user.token, { type: 'bearer' }).expect(422);
      const { port } = new URL(system.gateway.url);
      await Promise.all(
        Array.from(
          { length: 5 },
          () =>
            new Promise<void>((resolve) => {
              const socket = connect(Number(port), '127.0.0.1', () => {
                socket.write(
                  `GET /v2/users?pageSize=100 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${user.token}\r\n\r\n`,
                );
                setTimeout(() => socket.destroy(), 2);
              });
              socket.on('close', () => resolve());
            }),
        ),
      );
      await eventually(async () => (await slotsOf(user.id)).length === 0);
      const after = await burst(system.http, '/v2/users/me', user.token, 3, 3);
      expect(after.map((r) => r.status)).toEqual([200, 200, 200]);
    });
  });

  it('limits unauthenticated calls per client IP, across the auth endpoints, and not health', async () => {
    const from = (ip: string) => ({ 'X-Forwarded-For': ip });
    const verify = (ip: string) =>
      system.http.post('/v2/users/verify-email').set(from(ip)).send({ token: 'not-a-real-token-123' });
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++) statuses.push((await verify('203.0.113.7')).status);
    expect(statuses.slice(0, 8).every((s) => s !== 429)).toBe(true);
    expect(statuses[8]).toBe(429);
    const refused = await system.http.post('/v2/auth/token').set(from('203.0.113.7')).send({
      grant_type: 'client_credentials',
      client_id: 'e2e_client',
      client_secret: 'wrong-secret-0000',
    });
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBeDefined();
    expect(refused.headers['x-ratelimit-limit']).toBe('8');
    expect(expectEnvelope(refused.body, 'RATE_LIMITED').details).toEqual(
      expect.objectContaining({ limit: 'minute', scope: 'ip', max: 8 }),
    );
    // Another address has its own budget; probes are never limited.
    const other = await system.http.post('/v2/auth/token').set(from('203.0.113.8')).send({
      grant_type: 'client_credentials',
      client_id: 'e2e_client',
      client_secret: 'e2e_client_secret_0123456789',
    });
    expect(other.status).toBe(200);
    expect(other.headers['x-ratelimit-remaining']).toBe('7');
    await system.http.get('/health/live').set(from('203.0.113.7')).expect(200);
    await system.http
      .get('/metrics')
      .auth(METRICS_TOKEN, { type: 'bearer' })
      .set(from('203.0.113.7'))
      .expect(200);
  });
});

describe('rate limits while Redis is unreachable', () => {
  // TEST_REDIS_URL's server and database, through a proxy the test can cut.
  const { proxy: redisProxy, via } = proxyFor(REDIS_URL, 6379);
  let system: TestSystem;

  beforeAll(async () => {
    await redisProxy.start();
    system = await TestSystem.start({
      worker: false,
      redisUrl: via(),
      env: { ...SEED_RATE_LIMITS, RATE_LIMIT_FREE_PER_MINUTE: '3', RATE_LIMIT_FREE_PER_HOUR: '100' },
    });
  });
  afterAll(async () => {
    await system?.stop();
    await redisProxy.cut();
  });

  it('keeps serving (fail open), logs it once and counts it, and limits again when Redis is back', async () => {
    const user = await system.userWithRole('developer');
    const fresh = await system.userWithRole('developer'); // untouched until Redis is back
    const limited = await burst(system.http, '/v2/users/me', user.token, 4, 1);
    expect(limited.map((r) => r.status)).toEqual([200, 200, 200, 429]);

    await redisProxy.cut();
    try {
      const during = await burst(system.http, '/v2/users/me', user.token, 20, 4);
      expect(during.map((r) => r.status)).toEqual(new Array(20).fill(200));
      expect(during[19].headers).not.toHaveProperty('x-ratelimit-limit');
      const metrics = await system.http.get('/metrics').auth(METRICS_TOKEN, { type: 'bearer' }).expect(200);
      const failures = /^rate_limit_store_failures_total\{operation="acquire"\} (\d+)/m.exec(metrics.text);
      expect(Number(failures?.[1])).toBeGreaterThanOrEqual(20);
      const warnings = system.gateway
        .output()
        .split('\n')
        .filter((line) => line.includes('RateLimiter'));
      expect(warnings.length).toBeGreaterThanOrEqual(1);
      expect(warnings.length).toBeLessThanOrEqual(2); // not one per request
    } finally {
      await redisProxy.restore();
    }
    // Wait for the limiter to reach Redis again, without spending a token (GET /v2/rate-limit
    // only reads the buckets), then a full bucket behaves as before the outage.
    await eventually(async () => {
      const res = await system.http.get('/v2/rate-limit').auth(fresh.token, { type: 'bearer' });
      return res.status === 200 && res.headers['x-ratelimit-limit'] === '3' ? res : null;
    }, 15000);
    const after = await burst(system.http, '/v2/users/me', fresh.token, 4, 1);
    expect(after.map((r) => r.status)).toEqual([200, 200, 200, 429]);
  });
});
