import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { sign } from 'jsonwebtoken';
import {
  ADMIN_PASSWORD,
  ADMIN_USERNAME,
  CLIENT_ID,
  CLIENT_SECRET,
  eventually,
  expectEnvelope,
  JWT_SECRET,
  TestSystem,
} from '../support/system';

const ISSUER = 'openclaw-cocode';
const AUDIENCE = 'cocode-api';
const now = () => Math.floor(Date.now() / 1000);

describe('auth: tokens, refresh rotation, revocation, token verification', () => {
  let system: TestSystem;
  let adminId: string;

  beforeAll(async () => {
    system = await TestSystem.start({
      env: {
        AUTH_LOGIN_FAILURE_LIMIT: '3',
        AUTH_LOGIN_ACCOUNT_FAILURE_LIMIT: '7',
        AUTH_LOGIN_IP_FAILURE_LIMIT: '10',
        TRUST_PROXY: 'true', // so X-Forwarded-For stands for the client address below
      },
    });
    const me = await system.http
      .get('/v2/auth/me')
      .auth(await system.adminToken(), { type: 'bearer' })
      .expect(200);
    adminId = me.body.userId;
  });
  afterAll(() => system?.stop());

  const me = (token: string) => system.http.get('/v2/auth/me').auth(token, { type: 'bearer' });
  /** A token signed like ours, with claims and options changed by the test. */
  const forge = (
    claims: Record<string, unknown>,
    opts: { key?: string | Buffer; alg?: 'HS256' | 'RS256' | 'none' } = {},
  ) =>
    sign(
      {
        sub: adminId,
        role: 'admin',
        scope: 'read write admin',
        jti: randomBytes(6).toString('hex'),
        iss: ISSUER,
        aud: AUDIENCE,
        ...claims,
      },
      opts.key ?? JWT_SECRET,
      {
        algorithm: opts.alg ?? 'HS256',
      },
    );

  describe('POST /auth/token', () => {
    it('issues a token for the seed example (client_credentials, JSON) with exactly the seed fields', async () => {
      const res = await system.http
        .post('/v2/auth/token')
        .send({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET })
        .expect(200);
      expect(Object.keys(res.body).sort()).toEqual([
        'access_token',
        'expires_in',
        'issued_at',
        'refresh_token',
        'scope',
        'token_type',
      ]);
      expect(res.body).toEqual(
        expect.objectContaining({
          token_type: 'Bearer',
          expires_in: 3600,
          scope: 'read write admin',
          issued_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        }),
      );
      expect(res.body.access_token.split('.')).toHaveLength(3);
      expect(res.body.refresh_token.split('.')).toHaveLength(1); // opaque, not a JWT
      const claims = JSON.parse(Buffer.from(res.body.access_token.split('.')[1], 'base64url').toString());
      expect(claims).toEqual(
        expect.objectContaining({
          sub: adminId,
          role: 'admin',
          scope: 'read write admin',
          iss: ISSUER,
          aud: AUDIENCE,
          cid: CLIENT_ID,
        }),
      );
      expect(claims.exp - claims.iat).toBe(3600);
      expect(typeof claims.jti).toBe('string');
    });

    it('accepts the password grant as application/x-www-form-urlencoded', async () => {
      const res = await system.http
        .post('/v2/auth/token')
        .type('form')
        .send({
          grant_type: 'password',
          client_id: CLIENT_ID,
          client_secret: CLIENT_SECRET,
          username: ADMIN_USERNAME,
          password: ADMIN_PASSWORD,
        })
        .expect(200);
      expect(res.body.token_type).toBe('Bearer');
      await me(res.body.access_token).expect(200);
    });

    it('refuses a wrong client secret with 401 invalid_client', async () => {
      const res = await system.http
        .post('/v2/auth/token')
        .send({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: 'nope' });
      expect(res.status).toBe(401);
      expect(expectEnvelope(res.body, 'UNAUTHORIZED').details).toEqual({ oauthError: 'invalid_client' });
    });

    it('refuses an unknown grant type with 400 unsupported_grant_type', async () => {
      const res = await system.http
        .post('/v2/auth/token')
        .send({ grant_type: 'implicit', client_id: CLIENT_ID, client_secret: CLIENT_SECRET });
      expect(res.status).toBe(400);
      expect(expectEnvelope(res.body, 'INVALID_REQUEST').details.oauthError).toBe('unsupported_grant_type');
    });

    it('answers missing fields with 422 and the fields named', async () => {
      const res = await system.http
        .post('/v2/auth/token')
        .send({ grant_type: 'password', client_id: CLIENT_ID, client_secret: CLIENT_SECRET });
      expect(res.status).toBe(422);
      const error = expectEnvelope(res.body, 'VALIDATION_ERROR');
      expect((error.details.fields as Array<{ field: string }>).map((f) => f.field).sort()).toEqual([
        'password',
        'username',
      ]);
    });

    it('narrows scopes on request and refuses scopes beyond the role', async () => {
      const dev = await system.userWithRole('developer');
      const narrowed = await system.http
        .post('/v2/auth/token')
        .send({
          grant_type: 'password',
          client_id: CLIENT_ID,
          client_secret: CLIENT_SECRET,
          username: dev.username,
          password: dev.password,
          scope: 'read',
        })
        .expect(200);
      expect(narrowed.body.scope).toBe('read');
      const write = await system.http
        .post('/v2/auth/clients')
        .auth(narrowed.body.access_token, { type: 'bearer' })
        .send({ name: 'x' });
      expect(write.status).toBe(403);
      const tooMuch = await system.http.post('/v2/auth/token').send({
        grant_type: 'password',
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        username: dev.username,
        password: dev.password,
        scope: 'read admin',
      });
      expect(tooMuch.status).toBe(400);
      expect(expectEnvelope(tooMuch.body, 'INVALID_REQUEST').details.oauthError).toBe('invalid_scope');
    });

    it('refuses a wrong password, then locks the account out before hashing once the failure limit is hit', async () => {
      const user = await system.userWithRole('tester');
      const attempt = (password: string) =>
        system.http.post('/v2/auth/token').send({
          grant_type: 'password',
          client_id: CLIENT_ID,
          client_secret: CLIENT_SECRET,
          username: user.username,
          password,
        });
      for (let i = 0; i < 3; i++) {
        const res = await attempt('WrongPass123');
        expect(res.status).toBe(400);
        expect(res.body.error.details.oauthError).toBe('invalid_grant');
      }
      const locked = await attempt(user.password);
      expect(locked.status).toBe(429);
      expectEnvelope(locked.body, 'RATE_LIMITED');
      expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    });

    describe('failed-login lockout, per account and per IP', () => {
      const attempt = (login: string, password: string, ip: string) =>
        system.http.post('/v2/auth/token').set('X-Forwarded-For', ip).send({
          grant_type: 'password',
          client_id: CLIENT_ID,
          client_secret: CLIENT_SECRET,
          username: login,
          password,
        });

      it('counts the account, not the login string: username and e-mail in any case share a counter', async () => {
        const user = await system.userWithRole('architect');
        const [{ email }] = await system.sql<{ email: string }>(`SELECT email FROM users WHERE id = $1`, [
          user.id,
        ]);
        expect((await attempt(user.username, 'WrongPass123', '198.51.100.1')).status).toBe(400);
        expect((await attempt(email.toUpperCase(), 'WrongPass123', '198.51.100.1')).status).toBe(400);
        expect((await attempt(user.username.toUpperCase(), 'WrongPass123', '198.51.100.1')).status).toBe(400);
        const locked = await attempt(email, user.password, '198.51.100.1');
        expect(locked.status).toBe(429);
        expect(expectEnvelope(locked.body, 'RATE_LIMITED').details.limit).toBe('login_failures');
      });

      it('a stranger locks only their own address out; the account alone only at a much higher count', async () => {
        const user = await system.userWithRole('developer');
        for (let i = 0; i < 3; i++)
          expect((await attempt(user.username, 'WrongPass123', '203.0.113.66')).status).toBe(400);
        expect((await attempt(user.username, user.password, '203.0.113.66')).status).toBe(429);
        // The user, elsewhere, still signs in (and that clears the account's counter).
        expect((await attempt(user.username, user.password, '192.0.2.10')).status).toBe(200);
        // Guessing from many addresses: the account's own limit (7 here) locks it everywhere.
        for (let i = 0; i < 7; i++) {
          const ip = `203.0.113.${100 + Math.floor(i / 2)}`;
          expect((await attempt(user.username, 'WrongPass123', ip)).status).toBe(400);
        }
        const everywhere = await attempt(user.username, user.password, '192.0.2.10');
        expect(everywhere.status).toBe(429);
        expect(everywhere.body.error.details.limit).toBe('login_failures');
      });

      it('one address trying many accounts is stopped by its own limit', async () => {
        const users = await Promise.all([1, 2, 3, 4, 5].map(() => system.userWithRole('viewer')));
        for (let i = 0; i < 10; i++)
          expect(
            (await attempt(users[Math.floor(i / 3)].username, 'WrongPass123', '198.51.100.200')).status,
          ).toBe(400);
        const refused = await attempt(users[4].username, users[4].password, '198.51.100.200');
        expect(refused.status).toBe(429);
        expect(refused.body.error.details.limit).toBe('login_failures_ip');
        expect((await attempt(users[4].username, users[4].password, '198.51.100.201')).status).toBe(200);
      });
    });

    it('gives no token to a user whose e-mail is not verified', async () => {
      const admin = await system.adminToken();
      await system.http
        .post('/v2/users')
        .auth(admin, { type: 'bearer' })
        .send({
          username: 'pending_one',
          email: 'pending@example.com',
          password: 'Pending123',
          fullName: 'Pending',
        })
        .expect(201);
      const res = await system.http.post('/v2/auth/token').send({
        grant_type: 'password',
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        username: 'pending_one',
        password: 'Pending123',
      });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(/not verified/);
    });
  });

  describe('POST /auth/refresh', () => {
    async function pair(): Promise<{ access_token: string; refresh_token: string }> {
      const res = await system.http
        .post('/v2/auth/token')
        .send({
          grant_type: 'password',
          client_id: CLIENT_ID,
          client_secret: CLIENT_SECRET,
          username: ADMIN_USERNAME,
          password: ADMIN_PASSWORD,
        })
        .expect(200);
      return res.body;
    }

    it('rotates: the seed example returns a new pair and the old refresh token dies', async () => {
      const first = await pair();
      const res = await system.http
        .post('/v2/auth/refresh')
        .send({ refresh_token: first.refresh_token })
        .expect(200);
      expect(res.body.refresh_token).not.toBe(first.refresh_token);
      expect(res.body.access_token).not.toBe(first.access_token);
      expect(res.body.scope).toBe('read write admin');
      await me(res.body.access_token).expect(200);
      const again = await system.http
        .post('/v2/auth/refresh')
        .send({ refresh_token: res.body.refresh_token })
        .expect(200);
      expect(again.body.refresh_token).toBeDefined();
    });

    it('detects reuse of a rotated token and revokes the whole family', async () => {
      const first = await pair();
      const second = (
        await system.http.post('/v2/auth/refresh').send({ refresh_token: first.refresh_token }).expect(200)
      ).body;
      const reuse = await system.http.post('/v2/auth/refresh').send({ refresh_token: first.refresh_token });
      expect(reuse.status).toBe(400);
      expect(expectEnvelope(reuse.body, 'INVALID_REQUEST').details.oauthError).toBe('invalid_grant');
      const descendant = await system.http
        .post('/v2/auth/refresh')
        .send({ refresh_token: second.refresh_token });
      expect(descendant.status).toBe(400);
      const audit = await system.sql(
        `SELECT action FROM audit_logs WHERE action = 'auth.refresh_token_reused'`,
      );
      expect(audit.length).toBeGreaterThan(0);
    });

    it('refuses the access tokens of a sign-in at once when reuse revokes it, on every gateway', async () => {
      const other = await system.startGateway();
      const first = await pair();
      const claims = JSON.parse(Buffer.from(first.access_token.split('.')[1], 'base64url').toString());
      expect(claims.sid).toEqual(expect.any(String));
      const second = (
        await system.http.post('/v2/auth/refresh').send({ refresh_token: first.refresh_token }).expect(200)
      ).body;
      // Both tokens work on both gateways (so both have the principal cached).
      for (const token of [first.access_token, second.access_token]) {
        await me(token).expect(200);
        await other.http.get('/v2/auth/me').auth(token, { type: 'bearer' }).expect(200);
      }
      const unrelated = await pair();
      await system.http.post('/v2/auth/refresh').send({ refresh_token: first.refresh_token }).expect(400);
      for (const token of [first.access_token, second.access_token]) {
        const res = await me(token);
        expect(res.status).toBe(401);
        expect(expectEnvelope(res.body, 'UNAUTHORIZED').message).toMatch(/sign-in .* revoked/);
        await eventually(
          async () => (await other.http.get('/v2/auth/me').auth(token, { type: 'bearer' })).status === 401,
          2000,
        );
      }
      // Another sign-in of the same user is untouched.
      await me(unrelated.access_token).expect(200);
      await other.http.get('/v2/auth/me').auth(unrelated.access_token, { type: 'bearer' }).expect(200);
    });

    it('stores refresh tokens hashed, never in clear', async () => {
      const { refresh_token } = await pair();
      const rows = await system.sql(`SELECT count(*)::int AS n FROM refresh_tokens WHERE token_hash = $1`, [
        refresh_token,
      ]);
      expect(rows[0].n).toBe(0);
      const hashed = await system.sql(
        `SELECT count(*)::int AS n FROM refresh_tokens WHERE token_hash = encode(sha256($1::bytea), 'hex')`,
        [refresh_token],
      );
      expect(hashed[0].n).toBe(1);
    });

    it('refuses an unknown refresh token', async () => {
      const res = await system.http.post('/v2/auth/refresh').send({ refresh_token: 'not-a-real-token' });
      expect(res.status).toBe(400);
      expect(res.body.error.details.oauthError).toBe('invalid_grant');
    });
  });

  describe('POST /auth/revoke', () => {
    it('revokes an access token at once and answers 200 even for junk', async () => {
      const token = await system.token({ grant_type: 'client_credentials' });
      await me(token).expect(200);
      await system.http.post('/v2/auth/revoke').send({ token }).expect(200);
      const res = await me(token);
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
      await system.http.post('/v2/auth/revoke').send({ token: 'junk' }).expect(200);
    });

    it('revokes a refresh token', async () => {
      const res = await system.http
        .post('/v2/auth/token')
        .send({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET });
      await me(res.body.access_token).expect(200);
      await system.http.post('/v2/auth/revoke').send({ token: res.body.refresh_token }).expect(200);
      await system.http.post('/v2/auth/refresh').send({ refresh_token: res.body.refresh_token }).expect(400);
      // The sign-in is over: its access token too.
      await me(res.body.access_token).expect(401);
    });
  });

  describe('GET /auth/me', () => {
    it('describes the caller', async () => {
      const res = await me(await system.adminToken()).expect(200);
      expect(res.body).toEqual(
        expect.objectContaining({
          userId: adminId,
          username: ADMIN_USERNAME,
          role: 'admin',
          scopes: ['read', 'write', 'admin'],
          clientId: CLIENT_ID,
        }),
      );
      expect(res.body.permissions).toContain('users:admin');
    });
  });

  describe('access token verification', () => {
    it('answers no token with 401 and a plain Bearer challenge', async () => {
      const res = await system.http.get('/v2/auth/me');
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expectEnvelope(res.body, 'UNAUTHORIZED');
    });

    const cases: Array<[string, () => string]> = [
      ['garbage', () => 'not.a.jwt'],
      ['alg none', () => forge({ iat: now(), exp: now() + 600 }, { alg: 'none', key: '' })],
      [
        'alg none with a forged header',
        () => {
          const body = Buffer.from(
            JSON.stringify({
              sub: adminId,
              role: 'admin',
              scope: 'read write admin',
              jti: 'x',
              iss: ISSUER,
              aud: AUDIENCE,
              iat: now(),
              exp: now() + 600,
            }),
          ).toString('base64url');
          return `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${body}.`;
        },
      ],
      [
        'RS256 signed with a foreign key (HS/RS confusion)',
        () => {
          const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
          return forge(
            { iat: now(), exp: now() + 600 },
            { alg: 'RS256', key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string },
          );
        },
      ],
      [
        'signed with another secret',
        () => forge({ iat: now(), exp: now() + 600 }, { key: 'another-secret-that-is-long-enough-000000' }),
      ],
      ['expired', () => forge({ iat: now() - 7200, exp: now() - 3600 })],
      ['without exp', () => forge({ iat: now() })],
      [
        'without iat',
        () =>
          sign(
            {
              sub: adminId,
              role: 'admin',
              scope: 'read',
              jti: 'j',
              iss: ISSUER,
              aud: AUDIENCE,
              exp: now() + 600,
            },
            JWT_SECRET,
            { noTimestamp: true },
          ),
      ],
      ['with iat in the future', () => forge({ iat: now() + 3600, exp: now() + 7200 })],
      ['for another audience', () => forge({ iat: now(), exp: now() + 600, aud: 'someone-else' })],
      ['from another issuer', () => forge({ iat: now(), exp: now() + 600, iss: 'evil' })],
      [
        'with a tampered payload',
        () => {
          const [h, , s] = forge({ iat: now(), exp: now() + 600, role: 'viewer', scope: 'read' }).split('.');
          const payload = Buffer.from(
            JSON.stringify({
              sub: adminId,
              role: 'admin',
              scope: 'read write admin',
              jti: 'x',
              iss: ISSUER,
              aud: AUDIENCE,
              iat: now(),
              exp: now() + 600,
            }),
          ).toString('base64url');
          return `${h}.${payload}.${s}`;
        },
      ],
    ];
    it.each(cases)('refuses a token %s with 401 invalid_token', async (_name, make) => {
      const res = await me(make());
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
      expectEnvelope(res.body, 'UNAUTHORIZED');
    });

    it('accepts a correctly forged-by-us token, so the refusals above are about the one thing each changes', async () => {
      await me(forge({ iat: now(), exp: now() + 600 })).expect(200);
    });

    it('refuses a suspended user’s token within a second, and again after reactivation accepts it', async () => {
      const user = await system.userWithRole('developer');
      await me(user.token).expect(200);
      const admin = await system.adminToken();
      await system.http
        .put(`/v2/users/${user.id}`)
        .auth(admin, { type: 'bearer' })
        .send({ status: 'suspended' })
        .expect(200);
      const started = Date.now();
      await eventually(async () => (await me(user.token)).status === 401, 1000, 20);
      expect(Date.now() - started).toBeLessThan(1000);
      await system.http
        .put(`/v2/users/${user.id}`)
        .auth(admin, { type: 'bearer' })
        .send({ status: 'active' })
        .expect(200);
      await eventually(async () => (await me(user.token)).status === 200, 1500, 20);
    });

    it('refuses a deleted user’s tokens, access and refresh', async () => {
      const user = await system.userWithRole('tester');
      const pairRes = await system.http
        .post('/v2/auth/token')
        .send({
          grant_type: 'password',
          client_id: CLIENT_ID,
          client_secret: CLIENT_SECRET,
          username: user.username,
          password: user.password,
        })
        .expect(200);
      await system.http
        .delete(`/v2/users/${user.id}`)
        .auth(await system.adminToken(), { type: 'bearer' })
        .expect(204);
      await eventually(async () => (await me(user.token)).status === 401, 1000, 20);
      await system.http
        .post('/v2/auth/refresh')
        .send({ refresh_token: pairRes.body.refresh_token })
        .expect(400);
    });
  });
});

describe('auth with RS256 keys', () => {
  let system: TestSystem;
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;

  beforeAll(async () => {
    system = await TestSystem.start({
      worker: false,
      env: {
        JWT_ALGORITHM: 'RS256',
        JWT_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
        JWT_PUBLIC_KEY: publicPem,
      },
    });
  });
  afterAll(() => system?.stop());

  it('issues and accepts RS256 tokens', async () => {
    const token = await system.token({ grant_type: 'client_credentials' });
    expect(JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()).alg).toBe('RS256');
    await system.http.get('/v2/auth/me').auth(token, { type: 'bearer' }).expect(200);
  });

  it('refuses an HS256 token signed with the public key as the secret (algorithm confusion)', async () => {
    const real = await system.token({ grant_type: 'client_credentials' });
    const claims = JSON.parse(Buffer.from(real.split('.')[1], 'base64url').toString());
    const forged = sign(claims, publicPem, { algorithm: 'HS256' });
    expect(JSON.parse(Buffer.from(forged.split('.')[1], 'base64url').toString())).toEqual(claims);
    const res = await system.http.get('/v2/auth/me').auth(forged, { type: 'bearer' });
    expect(res.status).toBe(401);
  });
});
