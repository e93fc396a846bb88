import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { OpenAPIObject } from '@nestjs/swagger';
import { AppError } from '@app/core';
import { FastifyRequest } from 'fastify';

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/**
 * Refuses query parameters an operation does not document (422 unknown_field), as the
 * validation pipe refuses unknown body fields. Routes with a query DTO get the same answer from
 * the pipe; this covers the many that take no query at all, where a typo (`?serach=`) would
 * otherwise be ignored in silence. The OpenAPI document is the list of what is accepted, so a
 * new parameter is accepted once it is documented.
 *
 * A guard registered after the APP_GUARDs (access, then rate limit), so 401/403/429 come first. It
 * was an interceptor: any interceptor puts Nest's rxjs chain (defer, AsyncResource.bind, mergeAll,
 * lastValueFrom) on every request, measured at 10-30x a guard's cost (bench/interceptor.js).
 */
@Injectable()
export class DocumentedQueryGuard implements CanActivate {
  private readonly accepted = new Map<string, Set<string>>();

  constructor(document: OpenAPIObject) {
    for (const [path, item] of Object.entries(document.paths)) {
      const route = path.replace(/\{([^}]+)\}/g, ':$1');
      for (const method of METHODS) {
        const operation = item[method];
        if (!operation) continue;
        const names = (operation.parameters ?? []).flatMap((p) =>
          'in' in p && p.in === 'query' ? [p.name] : [],
        );
        this.accepted.set(`${method.toUpperCase()} ${route}`, new Set(names));
      }
    }
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const accepted = this.accepted.get(`${request.method} ${request.routeOptions?.url}`);
    const query = request.query;
    if (accepted && query && typeof query === 'object') {
      const unknown = Object.keys(query).filter((name) => !accepted.has(name));
      if (unknown.length) {
        throw AppError.validation(
          unknown.map((field) => ({
            field,
            message: `${field} is not an accepted query parameter`,
            code: 'unknown_field',
          })),
        );
      }
    }
    return true;
  }
}
