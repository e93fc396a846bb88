import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { IdempotencyInterceptor } from './idempotency.interceptor';

export const IDEMPOTENT_KEY = 'cocode:idempotent';

/** Lets a POST that creates something or starts work honour the Idempotency-Key header. */
export const Idempotent = (): MethodDecorator =>
  applyDecorators(
    SetMetadata(IDEMPOTENT_KEY, true),
    // Bound per route, not globally: every interceptor costs each request a context bind.
    UseInterceptors(IdempotencyInterceptor),
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description:
        'Replays the first response for 24 h when the same key is sent again with the same body; 422 with a different body; 409 while the first is in progress.',
    }),
  );
