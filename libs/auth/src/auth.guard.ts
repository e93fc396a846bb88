import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { AppError, Principal } from '@app/core';
import { ACCESS_RULE, AccessRule } from './auth.decorators';

/**
 * The global guard. Denies by default: a route with neither @Public() nor @RequirePermissions()
 * is refused (and the gateway refuses to start with one, see assertEveryRouteHasAccessRule).
 */
@Injectable()
export class AccessGuard extends AuthGuard('jwt') {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const rule = this.reflector.getAllAndOverride<AccessRule | undefined>(ACCESS_RULE, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!rule) throw AppError.forbidden('This endpoint declares no access rule');
    if (rule.public) return true;
    await super.canActivate(context);
    const principal = context.switchToHttp().getRequest<{ user: Principal }>().user;
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
