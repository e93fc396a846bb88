import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import { FastifyReply, FastifyRequest } from 'fastify';
import { toErrorResponse } from '../errors/error-response';

/** Sends the seed's error envelope for anything thrown by a handler, guard, pipe or interceptor. */
export function sendError(
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
  logger: Logger,
): void {
  const response = toErrorResponse(error, String(request.id));
  if (response.unexpected) {
    logger.error({
      msg: 'request failed',
      requestId: request.id,
      method: request.method,
      url: request.url,
      err: error,
    });
  }
  if (reply.sent) return;
  reply
    .status(response.status)
    .headers(response.headers)
    .type('application/json; charset=utf-8')
    .send(response.body);
}

@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    sendError(exception, http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>(), this.logger);
  }
}
