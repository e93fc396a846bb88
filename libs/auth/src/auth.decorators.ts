import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { Permission, Principal } from '@app/core';

export const ACCESS_RULE = 'cocode:access';

export type AccessRule = { public: true } | { public: false; permissions: Permission[] };

/** No authentication (token endpoints, health, e-mail verification). */
export const Public = (): MethodDecorator & ClassDecorator =>
  SetMetadata(ACCESS_RULE, { public: true } satisfies AccessRule);

/**
 * The one access decorator: a valid access token whose role and scopes grant every listed
 * permission. With no permissions, any authenticated caller. Also documents bearer auth.
 */
export const RequirePermissions = (...permissions: Permission[]): MethodDecorator & ClassDecorator =>
  applyDecorators(
    SetMetadata(ACCESS_RULE, { public: false, permissions } satisfies AccessRule),
    ApiBearerAuth(),
    ApiUnauthorizedResponse({ description: 'Missing, invalid, expired or revoked access token' }),
    ...(permissions.length
      ? [ApiForbiddenResponse({ description: `Requires ${permissions.join(', ')}` })]
      : []),
  );

export const Authenticated = (): MethodDecorator & ClassDecorator => RequirePermissions();

/** The caller's Principal. */
export const CurrentUser = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  return ctx.switchToHttp().getRequest<{ user: Principal }>().user;
});
