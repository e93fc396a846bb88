import { INestApplication } from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { ACCESS_RULE, AccessRule } from '@app/auth';

export interface RouteRule {
  route: string;
  rule: AccessRule | undefined;
}

/** Every controller method with its access rule (for the start-up check and the permission snapshot test). */
export function listRouteRules(app: INestApplication): RouteRule[] {
  const discovery = app.get(DiscoveryService);
  const scanner = app.get(MetadataScanner);
  const reflector = app.get(Reflector);
  const out: RouteRule[] = [];
  for (const wrapper of discovery.getControllers()) {
    const instance = wrapper.instance as object | undefined;
    if (!instance) continue;
    const proto = Object.getPrototypeOf(instance) as object;
    const base = String(Reflect.getMetadata(PATH_METADATA, instance.constructor) ?? '');
    for (const name of scanner.getAllMethodNames(proto)) {
      const handler = (proto as Record<string, unknown>)[name] as (...args: unknown[]) => unknown;
      const path = Reflect.getMetadata(PATH_METADATA, handler) as string | undefined;
      if (path === undefined) continue;
      const method =
        ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'][Reflect.getMetadata('method', handler) as number] ?? '?';
      const rule = reflector.getAllAndOverride<AccessRule | undefined>(ACCESS_RULE, [
        handler,
        instance.constructor,
      ]);
      out.push({ route: `${method} /${[base, path].filter((p) => p && p !== '/').join('/')}`, rule });
    }
  }
  return out;
}

/** Deny by default, enforced at start: a route without an access rule stops the gateway. */
export function assertEveryRouteHasAccessRule(app: INestApplication): void {
  const missing = listRouteRules(app).filter((r) => !r.rule);
  if (missing.length)
    throw new Error(
      `Routes without @Public() or @RequirePermissions(): ${missing.map((r) => r.route).join(', ')}`,
    );
}
