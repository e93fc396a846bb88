'use strict';
// The benchmark's own PostgreSQL database and Redis key prefix: made at the start, removed at the end.
const { Client } = require('pg');
const Redis = require('ioredis');

async function withAdmin(pgBase, fn) {
  const client = new Client({
    connectionString: `${pgBase}/postgres`,
    connectionTimeoutMillis: 5000,
    statement_timeout: 30000,
  });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function assertSafeName(name) {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`unexpected database name ${name}`);
}

async function createDatabase(pgBase, name) {
  assertSafeName(name);
  await withAdmin(pgBase, (c) => c.query(`CREATE DATABASE "${name}"`));
}

async function dropDatabase(pgBase, name) {
  assertSafeName(name);
  await withAdmin(pgBase, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

/** Whether the database is there (to confirm the drop). */
async function databaseExists(pgBase, name) {
  return withAdmin(pgBase, async (c) => {
    const { rows } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return rows.length > 0;
  });
}

/**
 * Deletes every key under `${prefix}:` (SCAN, never KEYS); returns how many were deleted and
 * how many remain. Bounded: at most maxRounds SCAN calls.
 */
async function deleteRedisPrefix(redisUrl, prefix, maxRounds = 10000) {
  if (!/^[A-Za-z0-9_:-]+$/.test(prefix)) throw new Error(`unexpected Redis prefix ${prefix}`);
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2, connectTimeout: 5000 });
  await redis.connect();
  try {
    const scanAll = async () => {
      const keys = [];
      let cursor = '0';
      let rounds = 0;
      do {
        const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        keys.push(...batch);
        cursor = next;
        rounds += 1;
      } while (cursor !== '0' && rounds < maxRounds);
      return keys;
    };
    const keys = await scanAll();
    let deleted = 0;
    for (let i = 0; i < keys.length; i += 500) deleted += await redis.unlink(...keys.slice(i, i + 500));
    const remaining = (await scanAll()).length;
    return { deleted, remaining };
  } finally {
    redis.disconnect();
  }
}

module.exports = { createDatabase, dropDatabase, databaseExists, deleteRedisPrefix };
