import { FastifyError, FastifyReply, FastifyRequest, FastifyServerOptions, LogController } from 'fastify';
import { Logger } from 'pino';
import { RequestContext } from '../context/request-context';
import { AppError } from '../errors/app-error';
import { ErrorCode } from '../errors/error-code';
import { toErrorResponse } from '../errors/error-response';

/**
 * Errors Fastify's router answers before any hook or handler (a malformed percent-encoding, a
 * path parameter longer than maxParamLength) in the seed's envelope too. A parameter too long
 * to be an id names nothing: 404, as any other id that cannot be one.
 */
export function frameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const mapped =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new AppError(ErrorCode.NotFound, 'Resource not found', { reason: 'parameter too long' })
      : error;
  const response = toErrorResponse(mapped, String(request.id));
  void reply
    .status(response.status)
    .headers({ ...response.headers, 'X-Request-Id': String(request.id) })
    .type('application/json; charset=utf-8')
    .send(response.body);
}

/**
 * The Fastify options both apps use: our pino logger, request ids taken from a sane incoming
 * X-Request-Id or made here, and one log line per request (at completion) instead of two.
 */
export function fastifyOptions(logger: Logger, trustProxy: boolean): FastifyServerOptions {
  return {
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    genReqId: (req) => RequestContext.idFrom(req.headers['x-request-id']),
    trustProxy,
    bodyLimit: 1024 * 1024,
    frameworkErrors: frameworkError,
  };
}
