import 'reflect-metadata';
import { BootstrapService, formatCredentials } from '@app/auth';
import { ConfigError, createRootLogger, getConfig, runMigrations } from '@app/core';
import pino from 'pino';
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
  const generated = await app.get(BootstrapService).run();
  await app.listen({ port: config.http.port, host: config.http.host });
  logger.info({ msg: 'gateway ready', url: await app.getUrl(), startupMs: Date.now() - started });
  // Last, so that nothing logged at start pushes them out of sight. Through the log's own stream
  // (stdout), so that they come after the lines pino has buffered, not before.
  const frame = formatCredentials(generated);
  if (frame)
    (logger as unknown as Record<symbol, NodeJS.WritableStream>)[pino.symbols.streamSym].write(frame);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `gateway failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
