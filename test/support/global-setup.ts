import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import Redis from 'ioredis';
import { deleteKeys, PG_BASE, REDIS_URL, ROOT, runStartedAt, STATE_FILE } from './env';

/** Builds one migrated template database per run; every test file copies it (CREATE DATABASE ... TEMPLATE). */
export default async function globalSetup(): Promise<void> {
  for (const app of ['gateway', 'worker']) {
    if (!existsSync(join(ROOT, 'dist', 'apps', app, 'src', 'main.js')))
      throw new Error(`dist/ is missing ${app}: run "npm run build" (npm test does)`);
  }
  const runId = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  const templateDb = `cocode_e2e_tpl_${runId}`;
  execFileSync(process.execPath, [join(ROOT, 'dist/libs/core/src/database/migrate-cli.js')], {
    env: { ...process.env, DATABASE_URL: `${PG_BASE}/${templateDb}`, NODE_ENV: 'test' },
    stdio: 'pipe',
  });
  // Drop leftovers of runs killed before their teardown: only runs older than two hours (the run
  // id starts with its start time), so suites running side by side keep their databases.
  const admin = new Client({ connectionString: `${PG_BASE}/postgres` });
  await admin.connect();
  const all = await admin.query(`SELECT datname FROM pg_database WHERE datname LIKE 'cocode_e2e_%'`);
  const cutoff = Date.now() - 2 * 3600_000;
  for (const { datname } of all.rows as Array<{ datname: string }>) {
    const started = parseInt(/_([0-9a-z]{8})[0-9a-z]*$/.exec(datname)?.[1] ?? '', 36);
    if (Number.isFinite(started) && started < cutoff) {
      await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => undefined);
    }
  }
  await admin.end();
  // The same for Redis: keys of runs older than two hours (e2e:<runId>:<tag>:...).
  const redis = new Redis(REDIS_URL);
  try {
    const stale = new Set<string>();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', 'e2e:*', 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        // A run id is 9+ characters (an older harness used a bare 8-hex tag: left alone).
        const run = key.split(':')[1] ?? '';
        if (/^[0-9a-z]{9,}$/.test(run) && runStartedAt(run) < cutoff) stale.add(run);
      }
    } while (cursor !== '0');
    for (const run of stale) await deleteKeys(redis, `e2e:${run}:*`);
  } finally {
    redis.disconnect();
  }
  writeFileSync(STATE_FILE, JSON.stringify({ runId, templateDb }));
}
