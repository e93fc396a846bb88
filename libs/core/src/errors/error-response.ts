import { HttpException } from '@nestjs/common';
import { PgError, pgErrorCode, uniqueViolation, violatedConstraint } from '../database/database-errors';
import { AppError } from './app-error';
import { ErrorCode } from './error-code';

export interface ErrorEnvelope {
  error: {
    code: string;
    message: string;
    details: Record<string, unknown>;
    requestId: string;
    timestamp: string;
  };
}

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: ErrorEnvelope;
  /** True when the error is ours to investigate (logged with its stack). */
  unexpected: boolean;
}

const CONNECTION_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
]);
// PostgreSQL SQLSTATEs that mean "the database is not there right now".
const PG_UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08006']);

/** True for errors that mean PostgreSQL or Redis cannot be reached (answered with 503). */
export function isUnavailableError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; message?: unknown; name?: unknown; driverError?: unknown };
  if (typeof e.code === 'string' && (CONNECTION_ERRORS.has(e.code) || PG_UNAVAILABLE.has(e.code)))
    return true;
  const message = typeof e.message === 'string' ? e.message : '';
  if (
    /Connection terminated|connection timeout|timeout exceeded when trying to connect|Connection is closed|MaxRetriesPerRequest|Reached the max retries per request|Stream isn't writeable|the database system is/i.test(
      message,
    )
  ) {
    return true;
  }
  return e.driverError ? isUnavailableError(e.driverError) : false;
}

function fromHttpException(exception: HttpException): AppError {
  const status = exception.getStatus();
  const response = exception.getResponse();
  const message =
    typeof response === 'string'
      ? response
      : typeof (response as { message?: unknown }).message === 'string'
        ? (response as { message: string }).message
        : exception.message;
  switch (status) {
    case 401:
      return AppError.unauthorized(message);
    case 403:
      return AppError.forbidden(message);
    case 404:
      return new AppError(
        ErrorCode.NotFound,
        message.startsWith('Cannot ') ? 'Route not found' : message,
        {},
      );
    case 409:
      return AppError.conflict(message);
    case 422:
      return AppError.validation([], message);
    case 429:
      return AppError.rateLimited(message, 60);
    case 503:
      return AppError.unavailable(
        message,
        5,
        typeof response === 'object' ? { ...(response as Record<string, unknown>) } : {},
      );
    default:
      return new AppError(ErrorCode.InvalidRequest, message, {});
  }
}

/** Fastify's own errors (body parsing, content type, size) carry a statusCode and an FST_ code. */
function fromFastifyError(err: { statusCode: number; code?: string; message: string }): {
  error: AppError;
  status: number;
} {
  const code = err.code ?? '';
  if (code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError) {
    return {
      error: AppError.invalidRequest('Malformed JSON in request body', { reason: err.message }),
      status: 400,
    };
  }
  if (code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
    return {
      error: AppError.invalidRequest('Request body is empty but Content-Type is application/json'),
      status: 400,
    };
  }
  const error = new AppError(ErrorCode.InvalidRequest, err.message, code ? { reason: code } : {});
  return { error, status: err.statusCode };
}

function internalError(requestId: string): AppError {
  return new AppError(
    ErrorCode.InternalError,
    'An unexpected error occurred; quote the requestId when reporting it',
    {
      errorId: requestId,
    },
  );
}

/** The one mapping from anything thrown to the seed's error envelope. */
export function toErrorResponse(exception: unknown, requestId: string): ErrorResponse {
  let error: AppError;
  let status: number | undefined;
  let unexpected = false;
  if (exception instanceof AppError) {
    error = exception;
  } else if (
    exception instanceof HttpException &&
    exception.getStatus() >= 500 &&
    exception.getStatus() !== 503
  ) {
    // A server fault raised as an HttpException: logged, and nothing of it shown to the caller.
    error = internalError(requestId);
    unexpected = true;
  } else if (exception instanceof HttpException) {
    error = fromHttpException(exception);
    const s = exception.getStatus();
    status = s >= 400 && s < 500 && error.code === ErrorCode.InvalidRequest ? s : undefined;
  } else if (isUnavailableError(exception)) {
    error = AppError.unavailable('A backing service (database or Redis) is unavailable; retry shortly');
    unexpected = true;
  } else if (uniqueViolation(exception) !== null) {
    error = AppError.conflict('Resource already exists', { constraint: violatedConstraint(exception) });
  } else if (pgErrorCode(exception) === PgError.ForeignKeyViolation) {
    // A foreign key still points at the row (e.g. deleting a user who owns projects).
    error = AppError.conflict('The resource is still referenced by others', {
      constraint: violatedConstraint(exception),
    });
  } else if (
    exception &&
    typeof exception === 'object' &&
    typeof (exception as { statusCode?: unknown }).statusCode === 'number' &&
    (exception as { statusCode: number }).statusCode < 500
  ) {
    ({ error, status } = fromFastifyError(
      exception as { statusCode: number; code?: string; message: string },
    ));
  } else {
    error = internalError(requestId);
    unexpected = true;
  }
  return {
    status: status ?? error.status,
    headers: error.headers,
    unexpected,
    body: {
      error: {
        code: error.code,
        message: error.message,
        details: error.details,
        requestId,
        timestamp: new Date().toISOString(),
      },
    },
  };
}
