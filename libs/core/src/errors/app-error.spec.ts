import { AppError } from './app-error';
import { ErrorCode } from './error-code';

describe('AppError', () => {
  it('is an Error carrying a code, the matching status and details', () => {
    const error = new AppError(ErrorCode.Conflict, 'Username taken', { field: 'username' });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('AppError');
    expect(error.message).toBe('Username taken');
    expect(error.code).toBe('CONFLICT');
    expect(error.status).toBe(409);
    expect(error.details).toEqual({ field: 'username' });
    expect(error.headers).toEqual({});
  });

  describe('unauthorized', () => {
    it('challenges with a bare Bearer when no token was sent', () => {
      const error = AppError.unauthorized();
      expect(error.status).toBe(401);
      expect(error.code).toBe(ErrorCode.Unauthorized);
      expect(error.message).toBe('Authentication required');
      expect(error.headers).toEqual({ 'WWW-Authenticate': 'Bearer' });
    });

    it('adds error="invalid_token" and the description when a token was sent', () => {
      const error = AppError.unauthorized('Access token has expired', {}, true);
      expect(error.headers['WWW-Authenticate']).toBe(
        'Bearer error="invalid_token", error_description="Access token has expired"',
      );
    });

    it('keeps the challenge well-formed when the message has double quotes', () => {
      const error = AppError.unauthorized('Authorization header must be "Bearer <token>"', {}, true);
      expect(error.headers['WWW-Authenticate']).toBe(
        `Bearer error="invalid_token", error_description="Authorization header must be 'Bearer <token>'"`,
      );
      expect(error.message).toBe('Authorization header must be "Bearer <token>"');
    });
  });

  it('forbidden answers 403 with a default message', () => {
    const error = AppError.forbidden();
    expect(error.status).toBe(403);
    expect(error.message).toBe('You do not have permission to do this');
  });

  it('notFound capitalises the resource and names what was looked for', () => {
    const error = AppError.notFound('project', 'prj_1');
    expect(error.status).toBe(404);
    expect(error.message).toBe('Project not found');
    expect(error.details).toEqual({ resource: 'project', id: 'prj_1' });
  });

  it('validation answers 422 with the field errors in details', () => {
    const fields = [{ field: 'email', message: 'email must be an email', code: 'invalid_format' }];
    const error = AppError.validation(fields);
    expect(error.status).toBe(422);
    expect(error.code).toBe(ErrorCode.ValidationError);
    expect(error.message).toBe('Request validation failed');
    expect(error.details).toEqual({ fields });
  });

  it.each([
    [0, '1'],
    [0.2, '1'],
    [1, '1'],
    [2.1, '3'],
    [60, '60'],
  ])('rateLimited after %s s says Retry-After: %s (whole seconds, at least 1)', (seconds, header) => {
    const error = AppError.rateLimited('Slow down', seconds);
    expect(error.status).toBe(429);
    expect(error.headers).toEqual({ 'Retry-After': header });
  });

  it('unavailable answers 503 with Retry-After 5 by default', () => {
    const error = AppError.unavailable();
    expect(error.status).toBe(503);
    expect(error.code).toBe(ErrorCode.ServiceUnavailable);
    expect(error.headers).toEqual({ 'Retry-After': '5' });
    expect(AppError.unavailable('busy', 1).headers).toEqual({ 'Retry-After': '1' });
  });

  it('invalidRequest answers 400', () => {
    expect(AppError.invalidRequest('Bad cursor', { cursor: 'x' })).toMatchObject({
      status: 400,
      code: ErrorCode.InvalidRequest,
      details: { cursor: 'x' },
    });
  });
});
