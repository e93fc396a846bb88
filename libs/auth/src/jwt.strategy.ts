import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { AppConfig, AppError, Principal } from '@app/core';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { JwtKeys } from './jwt-keys';
import { PrincipalCache } from './principal-cache';
import { AccessTokenClaims, claimsProblem } from './token-claims';

@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    keys: JwtKeys,
    private readonly config: AppConfig,
    private readonly cache: PrincipalCache,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      // A KeyObject (typed as string by @types/passport-jwt): parsed once, and its type
      // (secret vs public key) must match the pinned algorithm, which stops HS/RS confusion.
      secretOrKey: keys.verifyKey as unknown as string,
      algorithms: [keys.algorithm],
      issuer: config.jwt.issuer,
      audience: config.jwt.audience,
      ignoreExpiration: false,
      jsonWebTokenOptions: { clockTolerance: config.jwt.clockSkewSeconds },
      passReqToCallback: true,
    });
  }

  async validate(
    request: { verifiedClaims?: AccessTokenClaims },
    payload: AccessTokenClaims,
  ): Promise<Principal> {
    const problem = claimsProblem(payload, Math.floor(Date.now() / 1000), this.config.jwt.clockSkewSeconds);
    if (problem) throw AppError.unauthorized(`Invalid access token: ${problem}`, {}, true);
    request.verifiedClaims = payload; // lets the guard remember this token as verified
    return this.cache.resolve(payload);
  }
}
