import { createHmac, generateKeyPairSync } from 'node:crypto';
import { AppConfig } from '@app/core';
import { sign, verify } from 'jsonwebtoken';
import { JwtKeys } from './jwt-keys';

const SECRET = 'test-secret-that-is-at-least-32-characters';
const ISSUER = 'openclaw-cocode';
const AUDIENCE = 'cocode-api';

function jwtConfig(overrides: Partial<AppConfig['jwt']>): AppConfig['jwt'] {
  return {
    algorithm: 'HS256',
    issuer: ISSUER,
    audience: AUDIENCE,
    accessTtlSeconds: 3600,
    clockSkewSeconds: 5,
    secretGenerated: false,
    ...overrides,
  };
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A compact JWT built by hand, so nothing in a library stops a forged one from being made. */
function handMade(header: object, payload: object, signer: (input: string) => string): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${signer(input)}`;
}

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    sub: 'usr_0123456789abcdef',
    role: 'viewer',
    scope: 'read',
    jti: 'tok-1',
    iat: now,
    exp: now + 600,
    iss: ISSUER,
    aud: AUDIENCE,
    ...overrides,
  };
}

/** jsonwebtoken exactly as JwtStrategy (passport-jwt) and AuthService.revoke call it. */
function verifyAsTheStrategyDoes(token: string, keys: JwtKeys): unknown {
  return verify(token, keys.verifyKey, {
    algorithms: [keys.algorithm],
    issuer: ISSUER,
    audience: AUDIENCE,
    ignoreExpiration: false,
    clockTolerance: 5,
  });
}

const rsa = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});

describe('JwtKeys.fromConfig', () => {
  it('makes one secret KeyObject of the secret bytes for HS algorithms', () => {
    const keys = JwtKeys.fromConfig(jwtConfig({ algorithm: 'HS384', secret: SECRET }));
    expect(keys.algorithm).toBe('HS384');
    expect(keys.signKey).toBe(keys.verifyKey);
    expect(keys.signKey.type).toBe('secret');
    expect(keys.signKey.export().toString('utf8')).toBe(SECRET);
  });

  it('makes a private signing key and a public verifying key for RS256', () => {
    const keys = JwtKeys.fromConfig(
      jwtConfig({ algorithm: 'RS256', privateKey: rsa.privateKey, publicKey: rsa.publicKey }),
    );
    expect(keys.signKey.type).toBe('private');
    expect(keys.verifyKey.type).toBe('public');
    expect(keys.verifyKey.asymmetricKeyType).toBe('rsa');
  });

  it('throws on a PEM that does not parse', () => {
    expect(() =>
      JwtKeys.fromConfig(jwtConfig({ algorithm: 'RS256', privateKey: 'nope', publicKey: 'nope' })),
    ).toThrow();
  });
});

describe('verifying access tokens with JwtKeys (HS256)', () => {
  const keys = JwtKeys.fromConfig(jwtConfig({ algorithm: 'HS256', secret: SECRET }));
  const hmac = (secret: string | Buffer) => (input: string) =>
    createHmac('sha256', secret).update(input).digest('base64url');

  it('accepts a token signed with the key', () => {
    const token = sign(claims(), keys.signKey, { algorithm: 'HS256' });
    expect(verifyAsTheStrategyDoes(token, keys)).toMatchObject({ sub: 'usr_0123456789abcdef' });
  });

  it('refuses an unsigned alg "none" token', () => {
    const token = handMade({ alg: 'none', typ: 'JWT' }, claims({ role: 'admin' }), () => '');
    expect(() => verifyAsTheStrategyDoes(token, keys)).toThrow(/jwt signature is required/);
  });

  it('refuses an alg "none" token even when it carries a signature', () => {
    const token = handMade({ alg: 'none', typ: 'JWT' }, claims(), hmac(SECRET));
    expect(() => verifyAsTheStrategyDoes(token, keys)).toThrow(/invalid algorithm/);
  });

  it('refuses an RS256 token', () => {
    const token = sign(claims(), rsa.privateKey, { algorithm: 'RS256' });
    expect(() => verifyAsTheStrategyDoes(token, keys)).toThrow(/invalid algorithm/);
  });

  it('refuses an HS512 token signed with the right secret (the algorithm is pinned)', () => {
    const token = sign(claims(), keys.signKey, { algorithm: 'HS512' });
    expect(() => verifyAsTheStrategyDoes(token, keys)).toThrow(/invalid algorithm/);
  });

  it('refuses a token signed with another secret', () => {
    const token = sign(claims(), 'another-secret-that-is-also-32-characters-long', { algorithm: 'HS256' });
    expect(() => verifyAsTheStrategyDoes(token, keys)).toThrow(/invalid signature/);
  });

  it('refuses a token whose payload was changed after signing', () => {
    const [header, , signature] = sign(claims(), keys.signKey, { algorithm: 'HS256' }).split('.');
    const escalated = b64(claims({ role: 'admin', scope: 'read write admin' }));
    expect(() => verifyAsTheStrategyDoes(`${header}.${escalated}.${signature}`, keys)).toThrow(
      /invalid signature/,
    );
  });

  it('refuses a token for another audience', () => {
    const token = sign(claims({ aud: 'another-api' }), keys.signKey, { algorithm: 'HS256' });
    expect(() => verifyAsTheStrategyDoes(token, keys)).toThrow(/audience invalid/);
  });

  it('refuses a token from another issuer', () => {
    const token = sign(claims({ iss: 'someone-else' }), keys.signKey, { algorithm: 'HS256' });
    expect(() => verifyAsTheStrategyDoes(token, keys)).toThrow(/issuer invalid/);
  });

  it('refuses a token that expired beyond the clock tolerance', () => {
    const now = Math.floor(Date.now() / 1000);
    const token = sign(claims({ iat: now - 120, exp: now - 60 }), keys.signKey, { algorithm: 'HS256' });
    expect(() => verifyAsTheStrategyDoes(token, keys)).toThrow(/jwt expired/);
  });
});

describe('verifying access tokens with JwtKeys (RS256)', () => {
  const keys = JwtKeys.fromConfig(
    jwtConfig({ algorithm: 'RS256', privateKey: rsa.privateKey, publicKey: rsa.publicKey }),
  );
  // The classic HS/RS confusion: HMAC the token with the (public!) PEM as the shared secret.
  const forged = handMade(
    { alg: 'HS256', typ: 'JWT' },
    claims({ role: 'admin', scope: 'read write admin' }),
    (input) => createHmac('sha256', rsa.publicKey).update(input).digest('base64url'),
  );

  it('accepts a token signed with the private key', () => {
    const token = sign(claims(), keys.signKey, { algorithm: 'RS256' });
    expect(verifyAsTheStrategyDoes(token, keys)).toMatchObject({ scope: 'read' });
  });

  it('refuses an HS256 token whose secret is the PEM public key', () => {
    expect(() => verifyAsTheStrategyDoes(forged, keys)).toThrow(/invalid algorithm/);
  });

  it('refuses it even if HS256 were allowed: a public KeyObject is no HMAC secret', () => {
    expect(() => verify(forged, keys.verifyKey, { algorithms: ['RS256', 'HS256'] })).toThrow(
      /must be a symmetric key/,
    );
  });

  it('refuses a token signed by another RSA key', () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const token = sign(claims(), other.privateKey, { algorithm: 'RS256' });
    expect(() => verifyAsTheStrategyDoes(token, keys)).toThrow(/invalid signature/);
  });

  it('refuses an unsigned alg "none" token', () => {
    const token = handMade({ alg: 'none' }, claims(), () => '');
    expect(() => verifyAsTheStrategyDoes(token, keys)).toThrow(/jwt signature is required/);
  });
});
