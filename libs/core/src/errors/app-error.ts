import { ErrorCode, statusOf } from './error-code';

export interface FieldError {
  field: string;
  message: string;
  code: string;
}

/** A domain error: a code from the seed's table, a readable message and structured details. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    /** Extra response headers (WWW-Authenticate, Retry-After). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }

  get status(): number {
    return statusOf(this.code);
  }

  static invalidRequest(message: string, details: Record<string, unknown> = {}): AppError {
    return new AppError(ErrorCode.InvalidRequest, message, details);
  }

  /** `tokenSent` adds RFC 6750's error="invalid_token" to the challenge. */
  static unauthorized(
    message = 'Authentication required',
    details: Record<string, unknown> = {},
    tokenSent = false,
  ): AppError {
    const challenge = tokenSent
      ? `Bearer error="invalid_token", error_description="${message.replace(/"/g, "'")}"`
      : 'Bearer';
    return new AppError(ErrorCode.Unauthorized, message, details, { 'WWW-Authenticate': challenge });
  }

  static forbidden(
    message = 'You do not have permission to do this',
    details: Record<string, unknown> = {},
  ): AppError {
    return new AppError(ErrorCode.Forbidden, message, details);
  }

  static notFound(resource: string, id: string): AppError {
    return new AppError(ErrorCode.NotFound, `${resource[0].toUpperCase()}${resource.slice(1)} not found`, {
      resource,
      id,
    });
  }

  static conflict(message: string, details: Record<string, unknown> = {}): AppError {
    return new AppError(ErrorCode.Conflict, message, details);
  }

  static validation(fields: FieldError[], message = 'Request validation failed'): AppError {
    return new AppError(ErrorCode.ValidationError, message, { fields });
  }

  static rateLimited(
    message: string,
    retryAfterSeconds: number,
    details: Record<string, unknown> = {},
  ): AppError {
    return new AppError(ErrorCode.RateLimited, message, details, {
      'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))),
    });
  }

  static unavailable(
    message = 'Service temporarily unavailable',
    retryAfterSeconds = 5,
    details: Record<string, unknown> = {},
  ): AppError {
    return new AppError(ErrorCode.ServiceUnavailable, message, details, {
      'Retry-After': String(retryAfterSeconds),
    });
  }
}
