import {
  BadRequestException,
  ForbiddenException,
  HttpException,
  InternalServerErrorException,
  NotFoundException,
  PayloadTooLargeException,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { AppError } from './app-error';
import { ErrorCode } from './error-code';
import { isUnavailableError, toErrorResponse } from './error-response';

const REQUEST_ID = 'req_abc123';

function driverError(message: string, props: Record<string, unknown>): Error {
  return Object.assign(new Error(message), props);
}

function fastifyError(message: string, statusCode: number, code?: string): Error {
  return Object.assign(new Error(message), { statusCode, code });
}

describe('toErrorResponse', () => {
  describe('an AppError', () => {
    it('keeps its status, code, message, details and headers', () => {
      const response = toErrorResponse(AppError.rateLimited('Slow down', 2.5, { limit: 10 }), REQUEST_ID);
      expect(response.status).toBe(429);
      expect(response.headers).toEqual({ 'Retry-After': '3' });
      expect(response.unexpected).toBe(false);
      expect(response.body.error).toMatchObject({
        code: 'RATE_LIMITED',
        message: 'Slow down',
        details: { limit: 10 },
        requestId: REQUEST_ID,
      });
    });

    it('keeps the WWW-Authenticate challenge of an invalid token', () => {
      const response = toErrorResponse(AppError.unauthorized('Invalid access token', {}, true), REQUEST_ID);
      expect(response.status).toBe(401);
      expect(response.headers['WWW-Authenticate']).toBe(
        'Bearer error="invalid_token", error_description="Invalid access token"',
      );
    });

    it('stamps the envelope with the current time', () => {
      const before = Date.now();
      const { timestamp } = toErrorResponse(AppError.forbidden(), REQUEST_ID).body.error;
      expect(timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(Date.parse(timestamp)).toBeGreaterThanOrEqual(before);
      expect(Date.parse(timestamp)).toBeLessThanOrEqual(Date.now());
    });
  });

  describe('a Nest HttpException', () => {
    it('404 for an unknown route becomes NOT_FOUND "Route not found"', () => {
      const response = toErrorResponse(new NotFoundException('Cannot GET /api/v2/nope'), REQUEST_ID);
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe('NOT_FOUND');
      expect(response.body.error.message).toBe('Route not found');
    });

    it('404 with its own message keeps the message', () => {
      const response = toErrorResponse(new NotFoundException('No such avatar'), REQUEST_ID);
      expect(response.status).toBe(404);
      expect(response.body.error).toMatchObject({ code: 'NOT_FOUND', message: 'No such avatar' });
    });

    it('401 becomes UNAUTHORIZED with a Bearer challenge', () => {
      const response = toErrorResponse(new UnauthorizedException(), REQUEST_ID);
      expect(response.status).toBe(401);
      expect(response.body.error.code).toBe('UNAUTHORIZED');
      expect(response.headers).toEqual({ 'WWW-Authenticate': 'Bearer' });
    });

    it('403 becomes FORBIDDEN', () => {
      const response = toErrorResponse(new ForbiddenException('Nope'), REQUEST_ID);
      expect(response.status).toBe(403);
      expect(response.body.error).toMatchObject({ code: 'FORBIDDEN', message: 'Nope' });
    });

    it('429 (the throttler) becomes RATE_LIMITED with Retry-After', () => {
      const response = toErrorResponse(
        new HttpException('ThrottlerException: Too Many Requests', 429),
        REQUEST_ID,
      );
      expect(response.status).toBe(429);
      expect(response.body.error.code).toBe('RATE_LIMITED');
      expect(response.headers['Retry-After']).toBe('60');
    });

    it('503 (a failed health check) becomes SERVICE_UNAVAILABLE carrying the response as details', () => {
      const response = toErrorResponse(
        new ServiceUnavailableException({
          status: 'error',
          info: {},
          error: { database: { status: 'down' } },
        }),
        REQUEST_ID,
      );
      expect(response.status).toBe(503);
      expect(response.body.error.code).toBe('SERVICE_UNAVAILABLE');
      expect(response.body.error.details).toMatchObject({ error: { database: { status: 'down' } } });
      expect(response.headers['Retry-After']).toBe('5');
    });

    it('400 becomes INVALID_REQUEST', () => {
      const response = toErrorResponse(new BadRequestException('Bad cursor'), REQUEST_ID);
      expect(response.status).toBe(400);
      expect(response.body.error).toMatchObject({ code: 'INVALID_REQUEST', message: 'Bad cursor' });
    });

    it('another 4xx keeps its status under INVALID_REQUEST', () => {
      const response = toErrorResponse(new PayloadTooLargeException(), REQUEST_ID);
      expect(response.status).toBe(413);
      expect(response.body.error.code).toBe('INVALID_REQUEST');
    });

    it('500 is a server fault: INTERNAL_ERROR, logged, revealing nothing', () => {
      const response = toErrorResponse(
        new InternalServerErrorException('pool exhausted on db-primary-2'),
        REQUEST_ID,
      );
      expect(response.status).toBe(500);
      expect(response.body.error.code).toBe('INTERNAL_ERROR');
      expect(response.unexpected).toBe(true);
      expect(JSON.stringify(response.body)).not.toContain('db-primary-2');
    });
  });

  describe('an unexpected error', () => {
    const secret = 'password=hunter2 host=10.0.0.7';
    const response = toErrorResponse(
      new TypeError(`Cannot read properties of undefined (${secret})`),
      REQUEST_ID,
    );

    it('is a 500 INTERNAL_ERROR flagged for logging', () => {
      expect(response.status).toBe(500);
      expect(response.body.error.code).toBe('INTERNAL_ERROR');
      expect(response.unexpected).toBe(true);
      expect(response.headers).toEqual({});
    });

    it('reveals nothing of the original error', () => {
      expect(response.body.error.message).toBe(
        'An unexpected error occurred; quote the requestId when reporting it',
      );
      const serialised = JSON.stringify(response.body);
      expect(serialised).not.toContain('hunter2');
      expect(serialised).not.toContain('10.0.0.7');
      expect(serialised).not.toContain('Cannot read properties');
      expect(serialised).not.toContain('TypeError');
    });

    it('carries the request id as errorId', () => {
      expect(response.body.error.details).toEqual({ errorId: REQUEST_ID });
      expect(response.body.error.requestId).toBe(REQUEST_ID);
    });

    it.each([
      ['a string', 'boom'],
      ['undefined', undefined],
      ['null', null],
      ['a number', 42],
    ])('is also what a thrown %s becomes', (_label, thrown) => {
      const r = toErrorResponse(thrown, REQUEST_ID);
      expect(r.status).toBe(500);
      expect(r.body.error.code).toBe('INTERNAL_ERROR');
      expect(r.unexpected).toBe(true);
    });

    it('includes an error that claims a 5xx statusCode', () => {
      const r = toErrorResponse(fastifyError('upstream broke', 502), REQUEST_ID);
      expect(r.status).toBe(500);
      expect(r.body.error.code).toBe('INTERNAL_ERROR');
      expect(r.body.error.message).not.toContain('upstream');
    });
  });

  describe('a backing service that cannot be reached', () => {
    it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND'])(
      '%s becomes 503 SERVICE_UNAVAILABLE with Retry-After',
      (code) => {
        const response = toErrorResponse(driverError(`connect ${code} 127.0.0.1:5432`, { code }), REQUEST_ID);
        expect(response.status).toBe(503);
        expect(response.body.error.code).toBe(ErrorCode.ServiceUnavailable);
        expect(response.headers['Retry-After']).toBe('5');
        expect(response.unexpected).toBe(true);
        expect(JSON.stringify(response.body)).not.toContain('127.0.0.1');
      },
    );

    it('a QueryFailedError from a PostgreSQL shutdown becomes 503', () => {
      const err = new QueryFailedError(
        'SELECT 1',
        [],
        driverError('terminating connection due to administrator command', { code: '57P01' }),
      );
      expect(toErrorResponse(err, REQUEST_ID).status).toBe(503);
    });

    it('a closed Redis connection becomes 503', () => {
      expect(toErrorResponse(new Error('Connection is closed.'), REQUEST_ID).status).toBe(503);
    });
  });

  describe('a database constraint violation', () => {
    it('a unique violation (23505) becomes 409 CONFLICT naming the constraint', () => {
      const err = new QueryFailedError(
        'INSERT INTO users ...',
        [],
        driverError('duplicate key value violates unique constraint "uq_users_email"', {
          code: '23505',
          constraint: 'uq_users_email',
          detail: 'Key (email)=(a@b.c) already exists.',
        }),
      );
      const response = toErrorResponse(err, REQUEST_ID);
      expect(response.status).toBe(409);
      expect(response.body.error).toMatchObject({
        code: 'CONFLICT',
        message: 'Resource already exists',
        details: { constraint: 'uq_users_email' },
      });
      expect(JSON.stringify(response.body)).not.toContain('a@b.c');
      expect(response.unexpected).toBe(false);
    });

    it('a foreign key still pointing at the row is 409 CONFLICT', () => {
      const err = new QueryFailedError(
        'DELETE FROM users ...',
        [],
        driverError('update or delete on table "users" violates foreign key constraint', {
          code: '23503',
          constraint: 'projects_owner_fk',
        }),
      );
      const response = toErrorResponse(err, REQUEST_ID);
      expect(response.status).toBe(409);
      expect(response.body.error.details).toEqual({ constraint: 'projects_owner_fk' });
    });

    it('any other failed query is an unexpected 500', () => {
      const err = new QueryFailedError(
        'SELECT * FROM nowhere',
        [],
        driverError('relation "nowhere" does not exist', { code: '42P01' }),
      );
      const response = toErrorResponse(err, REQUEST_ID);
      expect(response.status).toBe(500);
      expect(response.unexpected).toBe(true);
      expect(JSON.stringify(response.body)).not.toContain('nowhere');
    });
  });

  describe("Fastify's own errors", () => {
    it('malformed JSON (FST_ERR_CTP_INVALID_JSON_BODY) becomes 400 INVALID_REQUEST', () => {
      const response = toErrorResponse(
        fastifyError(
          "Body is not valid JSON but content-type is set to 'application/json'",
          400,
          'FST_ERR_CTP_INVALID_JSON_BODY',
        ),
        REQUEST_ID,
      );
      expect(response.status).toBe(400);
      expect(response.unexpected).toBe(false);
      expect(response.body.error).toMatchObject({
        code: 'INVALID_REQUEST',
        message: 'Malformed JSON in request body',
      });
    });

    it('a SyntaxError from the JSON parser becomes 400 INVALID_REQUEST', () => {
      const err = Object.assign(new SyntaxError('Unexpected token } in JSON at position 9'), {
        statusCode: 400,
      });
      const response = toErrorResponse(err, REQUEST_ID);
      expect(response.status).toBe(400);
      expect(response.body.error.message).toBe('Malformed JSON in request body');
    });

    it('an empty JSON body becomes 400 INVALID_REQUEST', () => {
      const response = toErrorResponse(
        fastifyError('Body cannot be empty', 400, 'FST_ERR_CTP_EMPTY_JSON_BODY'),
        REQUEST_ID,
      );
      expect(response.status).toBe(400);
      expect(response.body.error).toMatchObject({
        code: 'INVALID_REQUEST',
        message: 'Request body is empty but Content-Type is application/json',
      });
    });

    it.each([
      [413, 'FST_ERR_CTP_BODY_TOO_LARGE', 'Request body is too large'],
      [415, 'FST_ERR_CTP_INVALID_MEDIA_TYPE', 'Unsupported Media Type: text/plain'],
    ])('%i %s keeps its status under INVALID_REQUEST and names the code', (statusCode, code, message) => {
      const response = toErrorResponse(fastifyError(message, statusCode, code), REQUEST_ID);
      expect(response.status).toBe(statusCode);
      expect(response.body.error).toEqual(
        expect.objectContaining({ code: 'INVALID_REQUEST', message, details: { reason: code } }),
      );
    });
  });
});

describe('isUnavailableError', () => {
  it.each([
    ['ECONNREFUSED', { code: 'ECONNREFUSED' }],
    ['a PostgreSQL "cannot connect now" (57P03)', { code: '57P03' }],
    ['"too many connections" (53300)', { code: '53300' }],
    ['a terminated connection', new Error('Connection terminated unexpectedly')],
    ['a pool timeout', new Error('timeout exceeded when trying to connect')],
    ['ioredis giving up', new Error('Reached the max retries per request limit (which is 20).')],
    ['a wrapped driver error', { message: 'query failed', driverError: { code: 'ECONNRESET' } }],
  ])('recognises %s', (_label, err) => {
    expect(isUnavailableError(err)).toBe(true);
  });

  it.each([
    ['a unique violation', { code: '23505', message: 'duplicate key' }],
    ['an ordinary error', new Error('nope')],
    ['a string', 'ECONNREFUSED'],
    ['null', null],
  ])('does not take %s for an outage', (_label, err) => {
    expect(isUnavailableError(err)).toBe(false);
  });
});
