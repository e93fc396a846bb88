import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Observable } from 'rxjs';
import { RequestContext } from './request-context';

/**
 * Runs the handler inside the request's AsyncLocalStorage context. An interceptor (not a
 * middleware) because Fastify parses the body in stream callbacks that would lose a context
 * entered earlier in onRequest.
 */
@Injectable()
export class RequestContextInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<{ id: string; user?: { userId?: string } }>();
    const store = { requestId: request.id, actorId: request.user?.userId };
    return new Observable((subscriber) =>
      RequestContext.run(store, () => next.handle().subscribe(subscriber)),
    );
  }
}
