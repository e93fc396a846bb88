import { createHmac, generateKeyPairSync } from 'node:crypto';
import { AppConfig, AppError, ErrorCode, Principal, Role, Scope } from '@app/core';
import { sign, SignOptions } from 'jsonwebtoken';
import { JwtKeys } from './jwt-keys';
import { JwtStrategy } from './jwt.strategy';
import { PrincipalCache } from './principal-cache';
import { AccessTokenClaims } from './token-claims';

const SECRET = 'strategy-test-secret-of-32-chars-or-more';
const ISSUER = 'openclaw-cocode';
const AUDIENCE = 'cocode-api';
const SKEW = 5;

type Outcome =
  { kind: 'success'; user: unknown } | { kind: 'fail'; info: unknown } | { kind: 'error'; err: unknown };

interface Attempt {
  authenticate(req: unknown, options: unknown): void;
  success(user: unknown): void;
  fail(info: unknown): void;
  error(err: unknown): void;
}

/** Runs the strategy the way passport does for one request, reporting how it ended. */
function authenticate(strategy: JwtStrategy, authorization?: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const attempt = Object.create(strategy) as Attempt;
    attempt.success = (user) => resolve({ kind: 'success', user });
    attempt.fail = (info) => resolve({ kind: 'fail', info });
    attempt.error = (err) => resolve({ kind: 'error', err });
    attempt.authenticate({ headers: authorization ? { authorization } : {} }, {});
  });
}

function setUp(jwt: Partial<AppConfig['jwt']>) {
  const config = {
    jwt: {
      algorithm: 'HS256',
      secret: SECRET,
      issuer: ISSUER,
      audience: AUDIENCE,
      accessTtlSeconds: 3600,
      clockSkewSeconds: SKEW,
      secretGenerated: false,
      ...jwt,
    },
  } as AppConfig;
  const keys = JwtKeys.fromConfig(config.jwt);
  const resolved: AccessTokenClaims[] = [];
  const cache = {
    resolve: async (claims: AccessTokenClaims) => {
      resolved.push(claims);
      return new Principal(
        claims.sub,
        'alice',
        claims.role as Role,
        claims.scope.split(' ') as Scope[],
        'standard',
        claims.jti,
        new Date(claims.exp * 1000),
        claims.cid ?? null,
      );
    },
  } as unknown as PrincipalCache;
  const strategy = new JwtStrategy(keys, config, cache);
  /** Signs like AuthService.issueWith does. */
  const issue = (payload: Record<string, unknown> = {}, options: SignOptions = {}) =>
    sign({ role: 'developer', scope: 'read write', ...payload }, keys.signKey, {
      algorithm: keys.algorithm,
      subject: 'usr_0123456789abcdef',
      issuer: ISSUER,
      audience: AUDIENCE,
      expiresIn: 3600,
      jwtid: 'tok-1',
      ...options,
    });
  return { strategy, keys, resolved, issue };
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('JwtStrategy with HS256', () => {
  const { strategy, resolved, issue } = setUp({ algorithm: 'HS256' });
  beforeEach(() => resolved.splice(0));

  it('turns a valid bearer token into the principal from the cache', async () => {
    const outcome = await authenticate(strategy, `Bearer ${issue()}`);
    expect(outcome.kind).toBe('success');
    const principal = (outcome as { user: Principal }).user;
    expect(principal).toBeInstanceOf(Principal);
    expect(principal.userId).toBe('usr_0123456789abcdef');
    expect(resolved).toHaveLength(1);
    expect(resolved[0]).toMatchObject({ sub: 'usr_0123456789abcdef', jti: 'tok-1', scope: 'read write' });
  });

  it('fails a request without a token', async () => {
    expect((await authenticate(strategy)).kind).toBe('fail');
  });

  it('fails an alg "none" token', async () => {
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({
      sub: 'usr_0123456789abcdef',
      role: 'admin',
      scope: 'read write admin',
      jti: 'x',
      iat: nowSeconds(),
      exp: nowSeconds() + 600,
      iss: ISSUER,
      aud: AUDIENCE,
    })}.`;
    expect(await authenticate(strategy, `Bearer ${token}`)).toMatchObject({
      kind: 'fail',
      info: { message: 'jwt signature is required' },
    });
    expect(resolved).toHaveLength(0);
  });

  it('fails an RS256 token', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const token = sign({ role: 'admin', scope: 'read' }, privateKey, {
      algorithm: 'RS256',
      subject: 'usr_x',
      issuer: ISSUER,
      audience: AUDIENCE,
      expiresIn: 600,
      jwtid: 'x',
    });
    expect(await authenticate(strategy, `Bearer ${token}`)).toMatchObject({
      kind: 'fail',
      info: { message: 'invalid algorithm' },
    });
  });

  it('fails an HS512 token signed with the right secret (the algorithm is pinned to HS256)', async () => {
    const token = issue({}, { algorithm: 'HS512' });
    expect(await authenticate(strategy, `Bearer ${token}`)).toMatchObject({
      kind: 'fail',
      info: { message: 'invalid algorithm' },
    });
  });

  it('fails a token signed with another secret', async () => {
    const token = sign({ role: 'admin', scope: 'read' }, 'some-other-secret-also-32-characters-long', {
      subject: 'usr_x',
      issuer: ISSUER,
      audience: AUDIENCE,
      expiresIn: 600,
      jwtid: 'x',
    });
    expect(await authenticate(strategy, `Bearer ${token}`)).toMatchObject({
      kind: 'fail',
      info: { message: 'invalid signature' },
    });
  });

  it('fails a token whose payload was tampered with', async () => {
    const [header, payload, signature] = issue().split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const tampered = b64({ ...claims, role: 'admin', scope: 'read write admin' });
    expect(await authenticate(strategy, `Bearer ${header}.${tampered}.${signature}`)).toMatchObject({
      kind: 'fail',
      info: { message: 'invalid signature' },
    });
    expect(resolved).toHaveLength(0);
  });

  it('fails a token for another audience or from another issuer', async () => {
    expect(await authenticate(strategy, `Bearer ${issue({}, { audience: 'other-api' })}`)).toMatchObject({
      kind: 'fail',
      info: { message: `jwt audience invalid. expected: ${AUDIENCE}` },
    });
    expect(await authenticate(strategy, `Bearer ${issue({}, { issuer: 'someone-else' })}`)).toMatchObject({
      kind: 'fail',
      info: { message: `jwt issuer invalid. expected: ${ISSUER}` },
    });
  });

  it('fails an expired token with a TokenExpiredError', async () => {
    const token = issue({ iat: nowSeconds() - 600 }, { expiresIn: 60 });
    const outcome = await authenticate(strategy, `Bearer ${token}`);
    expect(outcome).toMatchObject({ kind: 'fail', info: { name: 'TokenExpiredError' } });
  });

  it('accepts a token that expired within the clock skew', async () => {
    const token = issue({ iat: nowSeconds() - 62 }, { expiresIn: 60 });
    expect((await authenticate(strategy, `Bearer ${token}`)).kind).toBe('success');
  });

  it('answers a token without exp (which jsonwebtoken lets through) with a 401 invalid_token', async () => {
    const token = sign(
      { role: 'admin', scope: 'read write admin' },
      SECRET,
      { subject: 'usr_x', issuer: ISSUER, audience: AUDIENCE, jwtid: 'x' }, // no expiresIn
    );
    const outcome = await authenticate(strategy, `Bearer ${token}`);
    expect(outcome.kind).toBe('error');
    const err = (outcome as { err: AppError }).err;
    expect(err).toBeInstanceOf(AppError);
    expect(err.code).toBe(ErrorCode.Unauthorized);
    expect(err.message).toBe('Invalid access token: token has no expiry');
    expect(err.headers['WWW-Authenticate']).toMatch(/^Bearer error="invalid_token"/);
    expect(resolved).toHaveLength(0);
  });

  it('answers a token issued in the future with a 401', async () => {
    const token = issue({ iat: nowSeconds() + 120 });
    const outcome = await authenticate(strategy, `Bearer ${token}`);
    expect(outcome).toMatchObject({ kind: 'error', err: { code: ErrorCode.Unauthorized } });
    expect((outcome as { err: AppError }).err.message).toBe(
      'Invalid access token: token was issued in the future',
    );
  });
});

describe('JwtStrategy with RS256', () => {
  const rsa = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const { strategy, resolved, issue } = setUp({
    algorithm: 'RS256',
    secret: undefined,
    privateKey: rsa.privateKey,
    publicKey: rsa.publicKey,
  });

  it('accepts a token signed with the private key', async () => {
    expect((await authenticate(strategy, `Bearer ${issue()}`)).kind).toBe('success');
  });

  it('fails an HS256 token HMAC-signed with the PEM public key (HS/RS confusion)', async () => {
    resolved.splice(0);
    const now = nowSeconds();
    const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({
      sub: 'usr_0123456789abcdef',
      role: 'admin',
      scope: 'read write admin',
      jti: 'forged',
      iat: now,
      exp: now + 600,
      iss: ISSUER,
      aud: AUDIENCE,
    })}`;
    const signature = createHmac('sha256', rsa.publicKey).update(input).digest('base64url');
    const outcome = await authenticate(strategy, `Bearer ${input}.${signature}`);
    expect(outcome).toMatchObject({ kind: 'fail', info: { message: 'invalid algorithm' } });
    expect(resolved).toHaveLength(0);
  });
});
