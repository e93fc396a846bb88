import { AccessTokenClaims, claimsProblem } from './token-claims';

const NOW = 1_700_000_000;
const SKEW = 5;

function claims(overrides: Partial<Record<keyof AccessTokenClaims, unknown>> = {}): Record<string, unknown> {
  return {
    sub: 'usr_0123456789abcdef',
    role: 'developer',
    scope: 'read write',
    jti: 'tok-1',
    iat: NOW - 10,
    exp: NOW + 3600,
    iss: 'openclaw-cocode',
    aud: 'cocode-api',
    ...overrides,
  };
}

function without(key: keyof AccessTokenClaims): Record<string, unknown> {
  const { [key]: _removed, ...rest } = claims();
  return rest;
}

describe('claimsProblem', () => {
  it('accepts well-formed, current claims', () => {
    expect(claimsProblem(claims(), NOW, SKEW)).toBeNull();
  });

  it.each([null, undefined, 'a.b.c', 42])('refuses a payload that is not an object (%p)', (payload) => {
    expect(claimsProblem(payload, NOW, SKEW)).toBe('token payload is not an object');
  });

  describe('expiry', () => {
    it('refuses a token without exp (jsonwebtoken would accept it)', () => {
      expect(claimsProblem(without('exp'), NOW, SKEW)).toBe('token has no expiry');
    });

    it.each([
      ['string', '1700003600'],
      ['NaN', NaN],
      ['Infinity', Infinity],
    ])('refuses a non-numeric exp (%s)', (_label, exp) => {
      expect(claimsProblem(claims({ exp }), NOW, SKEW)).toBe('token has no expiry');
    });

    it('refuses a token that expired longer ago than the clock skew', () => {
      expect(claimsProblem(claims({ exp: NOW - 60 }), NOW, SKEW)).toBe('token has expired');
      expect(claimsProblem(claims({ exp: NOW - SKEW }), NOW, SKEW)).toBe('token has expired');
    });

    it.each([1e20, 8.64e12 + 1])('refuses an exp past the last time a Date can hold (%p)', (exp) => {
      expect(claimsProblem(claims({ exp }), NOW, SKEW)).toBe('token expiry is out of range');
    });

    it('accepts an exp at the last time a Date can hold', () => {
      expect(claimsProblem(claims({ exp: 8.64e12 }), NOW, SKEW)).toBeNull();
    });

    it('accepts a token that expired within the clock skew', () => {
      expect(claimsProblem(claims({ exp: NOW - SKEW + 1 }), NOW, SKEW)).toBeNull();
    });

    it('refuses a token expiring at or before its issue time', () => {
      expect(claimsProblem(claims({ iat: NOW, exp: NOW }), NOW, SKEW)).toBe(
        'token expires before it was issued',
      );
      expect(claimsProblem(claims({ iat: NOW + 2, exp: NOW + 1 }), NOW, SKEW)).toBe(
        'token expires before it was issued',
      );
    });
  });

  describe('issue time', () => {
    it('refuses a token without iat', () => {
      expect(claimsProblem(without('iat'), NOW, SKEW)).toBe('token has no issue time');
    });

    it('refuses a non-numeric iat', () => {
      expect(claimsProblem(claims({ iat: '1699999990' }), NOW, SKEW)).toBe('token has no issue time');
    });

    it('refuses a token issued further in the future than the clock skew', () => {
      expect(claimsProblem(claims({ iat: NOW + SKEW + 1 }), NOW, SKEW)).toBe(
        'token was issued in the future',
      );
    });

    it('accepts a token issued in the future within the clock skew', () => {
      expect(claimsProblem(claims({ iat: NOW + SKEW }), NOW, SKEW)).toBeNull();
    });

    it('with no skew, accepts iat = now and refuses iat = now + 1', () => {
      expect(claimsProblem(claims({ iat: NOW }), NOW, 0)).toBeNull();
      expect(claimsProblem(claims({ iat: NOW + 1 }), NOW, 0)).toBe('token was issued in the future');
    });
  });

  describe('identity', () => {
    it('refuses a token without a subject', () => {
      expect(claimsProblem(without('sub'), NOW, SKEW)).toBe('token has no subject');
      expect(claimsProblem(claims({ sub: '' }), NOW, SKEW)).toBe('token has no subject');
      expect(claimsProblem(claims({ sub: 7 }), NOW, SKEW)).toBe('token has no subject');
    });

    it('refuses a token without an id (jti)', () => {
      expect(claimsProblem(without('jti'), NOW, SKEW)).toBe('token has no id');
      expect(claimsProblem(claims({ jti: '' }), NOW, SKEW)).toBe('token has no id');
    });

    it('refuses a token without a scope', () => {
      expect(claimsProblem(without('scope'), NOW, SKEW)).toBe('token has no scope');
      expect(claimsProblem(claims({ scope: ['read'] }), NOW, SKEW)).toBe('token has no scope');
    });
  });

  it('reports the expiry problem before the identity ones', () => {
    expect(claimsProblem({ sub: 'usr_x' }, NOW, SKEW)).toBe('token has no expiry');
  });
});
