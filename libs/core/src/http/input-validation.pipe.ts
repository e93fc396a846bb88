import { ArgumentMetadata, Injectable, Type, ValidationPipe } from '@nestjs/common';
import { AppError } from '../errors/app-error';
import { ErrorCode } from '../errors/error-code';
import { validationException } from '../errors/validation';
import { badStringReason, findBadStrings, findForbiddenNulls } from './input-checks';

const PRIMITIVES: unknown[] = [String, Number, Boolean, Array, Object];

/**
 * The global pipe: class-validator with the house options, after the checks class-validator
 * cannot make. Strings PostgreSQL cannot hold (NUL, lone surrogates) are refused everywhere; a
 * path parameter holding one cannot name anything (404). A DTO body must be a JSON object
 * (no body at all counts as `{}`), and `null` is taken only where the DTO documents it.
 */
@Injectable()
export class InputValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      exceptionFactory: validationException,
      validationError: { target: false, value: false },
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'param') {
      if (typeof value === 'string' && badStringReason(value))
        throw new AppError(ErrorCode.NotFound, 'Resource not found', { parameter: metadata.data ?? null });
    } else if (metadata.type === 'body' || metadata.type === 'query') {
      const fields = findBadStrings(value, metadata.data ?? '');
      const metatype = metadata.metatype;
      if (metadata.type === 'body' && !metadata.data && isDto(metatype) && value !== undefined) {
        if (value === null || typeof value !== 'object' || Array.isArray(value)) {
          throw AppError.validation([
            { field: 'body', message: 'The request body must be a JSON object', code: 'invalid_type' },
          ]);
        }
        findForbiddenNulls(value, metatype, '', fields);
      }
      if (fields.length) throw AppError.validation(fields);
    }
    return super.transform(value, metadata);
  }
}

function isDto(metatype: Type<unknown> | undefined): metatype is Type<unknown> {
  return typeof metatype === 'function' && !PRIMITIVES.includes(metatype);
}
