import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  AllExceptionsFilter,
  ConfigError,
  createRootLogger,
  fastifyOptions,
  GATEWAY_ONLY_SETTINGS,
  getConfig,
  PinoLoggerService,
  runMigrations,
} from '@app/core';
import { WorkerModule } from './worker.module';

async function main(): Promise<void> {
  const started = Date.now();
  let config;
  try {
    config = getConfig('worker');
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
  const logger = createRootLogger(config.log.level, 'worker');
  const given = GATEWAY_ONLY_SETTINGS.filter((name) => process.env[name]);
  if (given.length)
    logger.warn({
      msg: 'the worker does not use these settings: remove them from its environment (a job that escaped its sandbox could read them there)',
      settings: given,
    });
  if (config.database.runMigrations) await runMigrations(config, (msg) => logger.info(msg));
  const app = await NestFactory.create<NestFastifyApplication>(
    WorkerModule,
    new FastifyAdapter(fastifyOptions(logger, false)),
    {
      logger: new PinoLoggerService(logger),
    },
  );
  app.useGlobalFilters(new AllExceptionsFilter());
  // SIGTERM: stop taking jobs, let running ones finish (BullMQ closes workers on module destroy).
  app.enableShutdownHooks();
  await app.listen({ port: config.worker.port, host: config.http.host });
  logger.info({
    msg: 'worker ready',
    url: await app.getUrl(),
    concurrency: config.worker.concurrency,
    startupMs: Date.now() - started,
  });
}

main().catch((err: unknown) => {
  process.stderr.write(
    `worker failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
