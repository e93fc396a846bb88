import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';

export const IDEMPOTENT_KEY = 'cocode:idempotent';

/** Lets a POST that creates something or starts work honour the Idempotency-Key header. */
export const Idempotent = (): MethodDecorator =>
  applyDecorators(
    SetMetadata(IDEMPOTENT_KEY, true),
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description:
        'Replays the first response for 24 h when the same key is sent again with the same body; 422 with a different body; 409 while the first is in progress.',
    }),
  );
