/** The claims of our access tokens. */
export interface AccessTokenClaims {
  sub: string;
  role: string;
  scope: string;
  jti: string;
  iat: number;
  exp: number;
  iss: string;
  aud: string | string[];
  /** The API client the token was issued through. */
  cid?: string;
  /**
   * The sign-in (refresh-token family) the token belongs to: revoking the sign-in (refresh-token
   * reuse, POST /auth/revoke of its refresh token) refuses its access tokens at once. Tokens
   * issued before this claim existed have none.
   */
  sid?: string;
}

/** The largest time a JavaScript Date can represent, in seconds. */
const MAX_TIME_SECONDS = 8.64e12;

/**
 * Checks jsonwebtoken leaves to the caller: it accepts a token with no `exp` at all and does not
 * look at `iat`. Returns why the claims are unacceptable, or null.
 */
export function claimsProblem(payload: unknown, nowSeconds: number, skewSeconds: number): string | null {
  if (!payload || typeof payload !== 'object') return 'token payload is not an object';
  const c = payload as Partial<AccessTokenClaims>;
  if (typeof c.exp !== 'number' || !Number.isFinite(c.exp)) return 'token has no expiry';
  if (c.exp <= nowSeconds - skewSeconds) return 'token has expired';
  // Beyond what a Date can hold (year 275760): new Date(exp * 1000) would be an Invalid Date.
  if (c.exp > MAX_TIME_SECONDS) return 'token expiry is out of range';
  if (typeof c.iat !== 'number' || !Number.isFinite(c.iat)) return 'token has no issue time';
  if (c.iat > nowSeconds + skewSeconds) return 'token was issued in the future';
  if (c.exp <= c.iat) return 'token expires before it was issued';
  if (typeof c.sub !== 'string' || !c.sub) return 'token has no subject';
  if (typeof c.jti !== 'string' || !c.jti) return 'token has no id';
  if (typeof c.scope !== 'string') return 'token has no scope';
  if (c.sid !== undefined && (typeof c.sid !== 'string' || !c.sid)) return 'token has a malformed session id';
  return null;
}
