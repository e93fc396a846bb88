import { rmSync } from 'node:fs';
import { Client } from 'pg';
import { PG_BASE, readState, STATE_FILE } from './env';

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
  rmSync(STATE_FILE, { force: true });
}
