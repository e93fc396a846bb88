import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { AppError, Principal } from '@app/core';
import { ACCESS_RULE, AccessRule } from './auth.decorators';
import { PrincipalCache } from './principal-cache';
import { AccessTokenClaims } from './token-claims';
import { VerifiedTokens } from './verified-tokens';

interface AuthRequest {
  headers: Record<string, string | undefined>;
  user?: Principal;
  verifiedClaims?: AccessTokenClaims;
}

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/;

/**
 * The global guard. Denies by default: a route with neither @Public() nor @RequirePermissions()
 * is refused (and the gateway refuses to start with one, see assertEveryRouteHasAccessRule).
 */
@Injectable()
export class AccessGuard extends AuthGuard('jwt') {
  private readonly verified = new VerifiedTokens();

  constructor(
    private readonly reflector: Reflector,
    private readonly principals: PrincipalCache,
  ) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const rule = this.reflector.getAllAndOverride<AccessRule | undefined>(ACCESS_RULE, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!rule) throw AppError.forbidden('This endpoint declares no access rule');
    if (rule.public) return true;
    const request = context.switchToHttp().getRequest<AuthRequest>();
    const token = BEARER.exec(request.headers.authorization ?? '')?.[1];
    const known = token ? this.verified.get(token, Math.floor(Date.now() / 1000)) : undefined;
    if (known) {
      request.user = await this.principals.resolve(known);
    } else {
      await super.canActivate(context); // passport-jwt: signature, algorithm, issuer, audience, expiry
      if (token && request.verifiedClaims) this.verified.remember(token, request.verifiedClaims);
    }
    const principal = request.user!;
    const missing = rule.permissions.filter((p) => !principal.can(p));
    if (missing.length) {
      throw AppError.forbidden('You do not have permission to do this', {
        required: missing,
        role: principal.role,
        scopes: principal.scopes,
      });
    }
    return true;
  }

  override handleRequest<T>(err: unknown, user: T, info: unknown, context: ExecutionContext): T {
    if (err) throw err;
    if (user) return user;
    const header = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>()
      .headers.authorization;
    if (!header)
      throw AppError.unauthorized('Authentication required: send Authorization: Bearer <access_token>');
    if (!/^Bearer\s+\S+$/i.test(header))
      throw AppError.unauthorized('Authorization header must be "Bearer <access_token>"', {}, true);
    const name = (info as { name?: string } | undefined)?.name;
    const reason = name === 'TokenExpiredError' ? 'Access token has expired' : 'Invalid access token';
    throw AppError.unauthorized(reason, {}, true);
  }
}
