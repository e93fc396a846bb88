import { FastifyServerOptions, LogController } from 'fastify';
import { Logger } from 'pino';
import { RequestContext } from '../context/request-context';

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
  };
}
