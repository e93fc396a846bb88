import 'reflect-metadata';
import { BootstrapService } from '@app/auth';
import { ConfigError, createRootLogger, getConfig, runMigrations } from '@app/core';
import { createGateway } from './http/create-gateway';

async function main(): Promise<void> {
  const started = Date.now();
  let config;
  try {
    config = getConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const logger = createRootLogger(config.log.level, 'gateway');
  if (config.jwt.secretGenerated) {
    logger.warn('JWT_SECRET is not set: using a random secret for this process; tokens die when it restarts');
  }
  if (config.database.runMigrations) await runMigrations(config, (msg) => logger.info(msg));
  const app = await createGateway(config, logger);
  await app.get(BootstrapService).run();
  await app.listen({ port: config.http.port, host: config.http.host });
  logger.info({ msg: 'gateway ready', url: await app.getUrl(), startupMs: Date.now() - started });
}

main().catch((err: unknown) => {
  process.stderr.write(
    `gateway failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
