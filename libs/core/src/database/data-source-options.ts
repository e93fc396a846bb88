import { join } from 'node:path';
import type { Pool } from 'pg';
import { DataSourceOptions } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { poolOptions, sharedPoolDriver } from './database-pool';
import { SnakeNamingStrategy } from './snake-naming.strategy';

// The repository (or dist/) root: this file sits at libs/core/src/database/.
const ROOT = join(__dirname, '..', '..', '..', '..');

/**
 * The one set of TypeORM options: both apps, the migration runner and the TypeORM CLI use it.
 * With `pool`, TypeORM runs on that pool (the apps' one DatabasePool); without, it makes its own.
 */
export function dataSourceOptions(
  config: Pick<AppConfig, 'database'>,
  applicationName = 'cocode',
  pool?: Pool,
): DataSourceOptions {
  const { connectionString: _url, application_name: _name, ...extra } = poolOptions(config, applicationName);
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
    extra,
    ...(pool ? { driver: sharedPoolDriver(pool) } : {}),
  };
}
