import { join } from 'node:path';
import { DataSourceOptions } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { SnakeNamingStrategy } from './snake-naming.strategy';

// The repository (or dist/) root: this file sits at libs/core/src/database/.
const ROOT = join(__dirname, '..', '..', '..', '..');

/** The one set of TypeORM options: both apps, the migration runner and the TypeORM CLI use it. */
export function dataSourceOptions(
  config: Pick<AppConfig, 'database'>,
  applicationName = 'cocode',
): DataSourceOptions {
  return {
    type: 'postgres',
    url: config.database.url,
    applicationName,
    entities: [join(ROOT, 'libs', '*', 'src', '**', '*.entity.{js,ts}')],
    migrations: [join(ROOT, 'migrations', '[0-9]*.{js,ts}')],
    migrationsTableName: 'migrations',
    namingStrategy: new SnakeNamingStrategy(),
    synchronize: false,
    logging: false,
    extra: {
      max: config.database.poolSize,
      // Fail fast when PostgreSQL is away, so callers get a 503 instead of hanging.
      connectionTimeoutMillis: 3000,
      statement_timeout: 30000,
    },
  };
}
