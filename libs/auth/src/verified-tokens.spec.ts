import { AccessTokenClaims } from './token-claims';
import { VerifiedTokens } from './verified-tokens';

const claims = (exp: number): AccessTokenClaims => ({
  sub: 'usr_1',
  role: 'admin',
  scope: 'read',
  jti: 'j',
  iat: exp - 3600,
  exp,
  iss: 'i',
  aud: 'a',
});

describe('VerifiedTokens', () => {
  it('returns the claims of a remembered token until it expires, then forgets it', () => {
    const cache = new VerifiedTokens();
    cache.remember('t1', claims(1000));
    expect(cache.get('t1', 999)).toEqual(claims(1000));
    expect(cache.get('t1', 1000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('matches the exact token text only', () => {
    const cache = new VerifiedTokens();
    cache.remember('abc.def.ghi', claims(1000));
    expect(cache.get('abc.def.ghX', 1)).toBeUndefined();
    expect(cache.get('abc.def.gh', 1)).toBeUndefined();
  });

  it('holds at most maxEntries, dropping the oldest', () => {
    const cache = new VerifiedTokens(2);
    cache.remember('a', claims(1000));
    cache.remember('b', claims(1000));
    cache.remember('c', claims(1000));
    expect(cache.size).toBe(2);
    expect(cache.get('a', 1)).toBeUndefined();
    expect(cache.get('b', 1)).toBeDefined();
    expect(cache.get('c', 1)).toBeDefined();
  });
});
