import { CallHandler, ExecutionContext, HttpStatus, Injectable, NestInterceptor } from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import { FastifyReply, FastifyRequest } from 'fastify';
import { from, Observable, of, throwError } from 'rxjs';
import { catchError, mergeMap } from 'rxjs/operators';
import { AppError } from '../errors/app-error';
import { IdempotencyService, requestFingerprint } from './idempotency.service';

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
const REPLAYED_HEADERS = ['location'];

@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly service: IdempotencyService,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const handler = context.getHandler();
    const request = context.switchToHttp().getRequest<FastifyRequest & { user?: { userId: string } }>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const key = request.headers['idempotency-key'];
    if (key === undefined) return next.handle();
    if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
      throw AppError.validation([
        {
          field: 'Idempotency-Key',
          message: 'Idempotency-Key must be 1-255 printable ASCII characters',
          code: 'invalid_format',
        },
      ]);
    }
    const principal = request.user?.userId ?? `ip:${request.ip}`;
    const path = request.url.split('?')[0];
    const hash = requestFingerprint(request.method, path, request.body);
    const status: number = this.reflector.get<number>(HTTP_CODE_METADATA, handler) ?? HttpStatus.CREATED;

    return from(this.service.claim(principal, key, hash)).pipe(
      mergeMap((claim) => {
        if (claim.kind === 'replay') {
          for (const [name, value] of Object.entries(claim.headers)) reply.header(name, value);
          reply.header('Idempotent-Replayed', 'true');
          return of(claim.body);
        }
        return next.handle().pipe(
          mergeMap((body) => {
            const headers: Record<string, string> = {};
            for (const name of REPLAYED_HEADERS) {
              const value = reply.getHeader(name);
              if (typeof value === 'string') headers[name] = value;
            }
            return from(this.service.complete(principal, key, status, body, headers)).pipe(
              mergeMap(() => of(body)),
            );
          }),
          catchError((err: unknown) =>
            from(this.service.release(principal, key).catch(() => undefined)).pipe(
              mergeMap(() => throwError(() => err)),
            ),
          ),
        );
      }),
    );
  }
}
