import { assertUnreachable, ErrorCode, statusOf } from './error-code';

const STATUSES: Array<[ErrorCode, number]> = [
  [ErrorCode.InvalidRequest, 400],
  [ErrorCode.Unauthorized, 401],
  [ErrorCode.Forbidden, 403],
  [ErrorCode.NotFound, 404],
  [ErrorCode.Conflict, 409],
  [ErrorCode.ValidationError, 422],
  [ErrorCode.RateLimited, 429],
  [ErrorCode.InternalError, 500],
  [ErrorCode.ServiceUnavailable, 503],
];

describe('statusOf', () => {
  it.each(STATUSES)('answers %s with HTTP %i', (code, status) => {
    expect(statusOf(code)).toBe(status);
  });

  it('has a status for every ErrorCode (this table is complete)', () => {
    expect(STATUSES.map(([code]) => code).sort()).toEqual(Object.values(ErrorCode).sort());
  });

  it('throws for a code that is not an ErrorCode', () => {
    expect(() => statusOf('TEAPOT' as ErrorCode)).toThrow('Unreachable value: TEAPOT');
  });
});

describe('assertUnreachable', () => {
  it('always throws, naming the value', () => {
    expect(() => assertUnreachable('x' as never)).toThrow('Unreachable value: x');
  });
});
