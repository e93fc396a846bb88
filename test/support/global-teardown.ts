import { rmSync } from 'node:fs';
import { Client } from 'pg';
import Redis from 'ioredis';
import { deleteKeys, PG_BASE, readState, REDIS_URL, STATE_FILE } from './env';

export default async function globalTeardown(): Promise<void> {
  const { runId } = readState();
  const admin = new Client({ connectionString: `${PG_BASE}/postgres` });
  await admin.connect();
  const dbs = await admin.query(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [
    `cocode_e2e_%${runId}%`,
  ]);
  for (const row of dbs.rows as Array<{ datname: string }>) {
    await admin.query(`DROP DATABASE IF EXISTS "${row.datname}" WITH (FORCE)`).catch(() => undefined);
  }
  await admin.end();
  // Keys of test files that did not reach their own stop() (killed, or failed to boot).
  const redis = new Redis(REDIS_URL);
  await deleteKeys(redis, `e2e:${runId}:*`).finally(() => redis.disconnect());
  rmSync(STATE_FILE, { force: true });
}
