import { RequestMethod } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  AllExceptionsFilter,
  AppConfig,
  fastifyOptions,
  InputValidationPipe,
  installJsonBodyParser,
  MetricsService,
  PinoLoggerService,
  RequestContext,
} from '@app/core';
import { installRateLimitHooks, RateLimiter } from '@app/ratelimit';
import { Logger as Pino } from 'pino';
import { GatewayModule } from '../gateway.module';
import { DocumentedQueryGuard } from './documented-query.guard';
import { installQueueDashboard } from './queue-dashboard';
import { assertEveryRouteHasAccessRule } from './route-rules';
import { setupSwagger } from './swagger';

/** Builds the gateway application (not yet listening): used by main.ts and by the benchmarks. */
export async function createGateway(config: AppConfig, logger: Pino): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter(fastifyOptions(logger, config.http.trustProxy));
  const app = await NestFactory.create<NestFastifyApplication>(GatewayModule, adapter, {
    logger: new PinoLoggerService(logger),
    bufferLogs: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  const metrics = app.get(MetricsService);

  fastify.addHook('onRequest', (request, reply, done) => {
    reply.header('X-Request-Id', request.id);
    done();
  });
  // The handler (Nest's whole pipeline) runs synchronously inside done(), so everything it does
  // sees the request id. A global Nest interceptor would do the same at ~30 µs a request (an
  // AsyncResource.bind plus rxjs per request); Fastify parses the body before preHandler.
  fastify.addHook('preHandler', (request, _reply, done) => {
    RequestContext.run({ requestId: request.id }, () => done());
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpDuration.observe(
      { method: request.method, route, status: reply.statusCode },
      reply.elapsedTime / 1000,
    );
    if (config.log.requests) {
      request.log.info(
        {
          method: request.method,
          url: request.url,
          statusCode: reply.statusCode,
          ms: Math.round(reply.elapsedTime),
        },
        'request',
      );
    }
    done();
  });
  installRateLimitHooks(fastify, app.get(RateLimiter));
  // Errors raised by Fastify itself (malformed JSON, wrong content type, body too large) reach the
  // global filter through Nest's own Fastify error handler, so they get the same envelope.

  app.setGlobalPrefix('v2', {
    exclude: [
      { path: 'health/live', method: RequestMethod.GET },
      { path: 'health/ready', method: RequestMethod.GET },
      { path: 'metrics', method: RequestMethod.GET },
    ],
  });
  app.useGlobalFilters(new AllExceptionsFilter());
  app.useGlobalPipes(new InputValidationPipe());
  app.enableShutdownHooks();
  const document = setupSwagger(app, config.http.publicBaseUrlSet ? config.http.publicBaseUrl : undefined);
  // After the APP_GUARDs (access, rate limit): unknown query parameters are judged last.
  app.useGlobalGuards(new DocumentedQueryGuard(document));
  await app.init();
  // After init: Nest registers its own JSON parser there, and this one replaces it.
  installJsonBodyParser(fastify);
  assertEveryRouteHasAccessRule(app);
  await installQueueDashboard(app);
  return app;
}
