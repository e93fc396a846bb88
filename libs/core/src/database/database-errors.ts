import { QueryFailedError } from 'typeorm';

/** PostgreSQL's SQLSTATE codes this codebase acts on. */
export const PgError = {
  UniqueViolation: '23505',
  ForeignKeyViolation: '23503',
  DuplicateDatabase: '42P04',
} as const;

interface PgDriverError {
  code?: string;
  constraint?: string;
}

/** The driver's error behind anything thrown by a query: TypeORM wraps it, the pool does not. */
function driverError(err: unknown): PgDriverError | undefined {
  if (err instanceof QueryFailedError) return err.driverError as PgDriverError;
  if (err && typeof err === 'object' && typeof (err as PgDriverError).code === 'string')
    return err as PgDriverError;
  return undefined;
}

/** The SQLSTATE of a failed query, through either path (TypeORM or the pool). */
export function pgErrorCode(err: unknown): string | undefined {
  return driverError(err)?.code;
}

/**
 * The violated unique constraint's name when `err` is a unique violation (optionally only for
 * constraints whose name contains `constraint`), else null. The one place that knows '23505'.
 */
export function uniqueViolation(err: unknown, constraint?: string): string | null {
  const e = driverError(err);
  if (e?.code !== PgError.UniqueViolation) return null;
  const name = e.constraint ?? '';
  return constraint === undefined || name.includes(constraint) ? name : null;
}

/** The constraint named by a failed query, if any. */
export function violatedConstraint(err: unknown): string | undefined {
  return driverError(err)?.constraint;
}
