import * as pg from 'pg';
import { AppConfig } from '../config/app-config';

/**
 * The process's one PostgreSQL pool. The plain-SQL layer (Sql) queries it directly; TypeORM is
 * handed the same pool through its public `driver` option (see sharedPoolDriver), so entity
 * repositories, transactions and raw SQL share one set of connections and nobody reaches into
 * TypeORM's internals. TypeORM owns its lifetime: DataSource.destroy() ends it.
 */
export class DatabasePool {
  readonly pool: pg.Pool;

  constructor(config: Pick<AppConfig, 'database'>, applicationName = 'cocode') {
    this.pool = new pg.Pool(poolOptions(config, applicationName));
  }
}

/** Connection options for every pool of this codebase (apps, CLIs, tests). */
export function poolOptions(config: Pick<AppConfig, 'database'>, applicationName: string): pg.PoolConfig {
  return {
    connectionString: config.database.url,
    application_name: applicationName,
    max: config.database.poolSize,
    // Fail fast when PostgreSQL is away, so callers get a 503 instead of hanging.
    connectionTimeoutMillis: 3000,
    statement_timeout: 30000,
  };
}

/**
 * A `pg` module whose Pool constructor hands out `pool` instead of making a new one: given to
 * TypeORM as its `driver` (documented: "the driver object, defaults to require('pg')").
 */
export function sharedPoolDriver(pool: pg.Pool): typeof pg {
  function SharedPool(): pg.Pool {
    return pool;
  }
  return Object.create(pg, { Pool: { value: SharedPool, enumerable: true } }) as typeof pg;
}
