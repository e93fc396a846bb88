import { AccessTokenClaims } from './token-claims';

/**
 * Access tokens whose signature and claims were already verified, by their exact text, until
 * they expire. A client sends the same token many times: this skips re-parsing and re-checking
 * the HMAC/RSA signature (~35 µs a request). Revocation and user state are still checked on
 * every request by PrincipalCache.
 */
export class VerifiedTokens {
  private readonly entries = new Map<string, AccessTokenClaims>();

  constructor(private readonly maxEntries = 10_000) {}

  get(token: string, nowSeconds: number): AccessTokenClaims | undefined {
    const claims = this.entries.get(token);
    if (!claims) return undefined;
    if (claims.exp <= nowSeconds) {
      this.entries.delete(token);
      return undefined;
    }
    return claims;
  }

  remember(token: string, claims: AccessTokenClaims): void {
    if (this.entries.size >= this.maxEntries) {
      // Maps iterate in insertion order: drop the oldest.
      this.entries.delete(this.entries.keys().next().value as string);
    }
    this.entries.set(token, claims);
  }

  get size(): number {
    return this.entries.size;
  }
}
