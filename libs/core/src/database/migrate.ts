import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { dataSourceOptions } from './data-source-options';
import { PgError, pgErrorCode } from './database-errors';

/** Creates the database named in DATABASE_URL when it is missing (first start on a new machine). */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!name) return;
  const probe = new Client({ connectionString: databaseUrl });
  try {
    await probe.connect();
    return;
  } catch (err) {
    if ((err as { code?: string }).code !== '3D000') throw err; // 3D000: invalid_catalog_name
  } finally {
    await probe.end().catch(() => undefined);
  }
  url.pathname = '/postgres';
  const admin = new Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } catch (err) {
    // Created by a concurrent starter (the gateway and the worker start together): 42P04, or a
    // unique violation on pg_database when both CREATE at the same instant.
    const code = pgErrorCode(err);
    if (code !== PgError.DuplicateDatabase && code !== PgError.UniqueViolation) throw err;
  } finally {
    await admin.end();
  }
}

/** Runs fn while holding a PostgreSQL session advisory lock, so concurrent starters take turns. */
export async function withAdvisoryLock<T>(
  dataSource: DataSource,
  key: number,
  fn: () => Promise<T>,
): Promise<T> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [key]);
    try {
      return await fn();
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [key]);
    }
  } finally {
    await runner.release();
  }
}

export const MIGRATION_LOCK_KEY = 727_001;

/** Applies pending migrations; safe to call from every gateway and worker at start. */
export async function runMigrations(
  config: Pick<AppConfig, 'database'>,
  log: (msg: string) => void = () => undefined,
): Promise<string[]> {
  await ensureDatabase(config.database.url);
  const dataSource = new DataSource({ ...dataSourceOptions(config, 'cocode-migrate'), extra: { max: 2 } });
  await dataSource.initialize();
  try {
    const applied = await withAdvisoryLock(dataSource, MIGRATION_LOCK_KEY, () =>
      dataSource.runMigrations({ transaction: 'each' }),
    );
    for (const m of applied) log(`migration applied: ${m.name}`);
    return applied.map((m) => m.name);
  } finally {
    await dataSource.destroy();
  }
}
