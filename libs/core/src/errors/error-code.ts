/** The seed's error codes and the HTTP status each one leaves the process with. */
export enum ErrorCode {
  InvalidRequest = 'INVALID_REQUEST',
  Unauthorized = 'UNAUTHORIZED',
  Forbidden = 'FORBIDDEN',
  NotFound = 'NOT_FOUND',
  Conflict = 'CONFLICT',
  ValidationError = 'VALIDATION_ERROR',
  RateLimited = 'RATE_LIMITED',
  InternalError = 'INTERNAL_ERROR',
  ServiceUnavailable = 'SERVICE_UNAVAILABLE',
}

export function statusOf(code: ErrorCode): number {
  switch (code) {
    case ErrorCode.InvalidRequest:
      return 400;
    case ErrorCode.Unauthorized:
      return 401;
    case ErrorCode.Forbidden:
      return 403;
    case ErrorCode.NotFound:
      return 404;
    case ErrorCode.Conflict:
      return 409;
    case ErrorCode.ValidationError:
      return 422;
    case ErrorCode.RateLimited:
      return 429;
    case ErrorCode.InternalError:
      return 500;
    case ErrorCode.ServiceUnavailable:
      return 503;
    default:
      return assertUnreachable(code);
  }
}

export function assertUnreachable(value: never): never {
  throw new Error(`Unreachable value: ${String(value)}`);
}
