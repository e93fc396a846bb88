'use strict';
// Start-up for the scenarios that drive the whole platform through its API (agents, webhooks):
// a fresh database and Redis prefix, the compiled gateway and N workers on them, the bootstrap
// client's token. Every step registers its undo with lib/cleanup.js first. (lib/system.js does
// the same for the read benchmarks, with a baseline server and start-up timings.)
const { randomBytes } = require('node:crypto');
const { join } = require('node:path');
const { GATEWAY_NODE_FLAGS } = require('../../scripts/node-flags');
const { onCleanup } = require('./cleanup');
const { METRICS_TOKEN } = require('./gateway');
const { ChildApp } = require('./processes');
const { createDatabase, deleteRedisPrefix, dropDatabase } = require('./resources');
const { freePort } = require('./util');

const ROOT = join(__dirname, '..', '..');
const PG = 'postgres://postgres@127.0.0.1:5432';
const REDIS = 'redis://127.0.0.1:6379';
const CLIENT = { id: 'bench_client', secret: 'bench_client_secret_0123456789' };

/** JSON over a kept-alive connection (Node's fetch), as a real client would call. */
async function api(port, method, path, token, body) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(30000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, text };
}

/**
 * @param {object} o
 *   name        the scenario: names the database cocode_bench_<name>_<tag> and the log files
 *   resultsDir  where the logs go (<name>-<stamp>-{gateway,workerN}.log)
 *   stamp       the run's timestamp
 *   env         the scenario's own settings for the gateway and the workers
 *   workers     how many workers (1)
 *   startTimeoutMs  limit for each process to become ready (30000)
 * @returns { port, token, prefix, databaseUrl, gateway, workers }
 */
async function startApps({ name, resultsDir, stamp, env = {}, workers = 1, startTimeoutMs = 30000 }) {
  const tag = randomBytes(4).toString('hex');
  const db = `cocode_bench_${name}_${tag}`;
  const prefix = `cocode_bench:${tag}`;
  await createDatabase(PG, db);
  onCleanup('drop database', () => dropDatabase(PG, db));
  onCleanup('redis keys', () => deleteRedisPrefix(REDIS, prefix));

  const port = await freePort();
  const appEnv = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    METRICS_TOKEN,
    PORT: String(port),
    DATABASE_URL: `${PG}/${db}`,
    REDIS_URL: REDIS,
    REDIS_PREFIX: prefix,
    JWT_SECRET: randomBytes(32).toString('base64url'),
    BOOTSTRAP_ADMIN_USERNAME: 'admin',
    BOOTSTRAP_ADMIN_EMAIL: 'admin@bench.local',
    BOOTSTRAP_ADMIN_PASSWORD: 'BenchAdmin123',
    BOOTSTRAP_CLIENT_ID: CLIENT.id,
    BOOTSTRAP_CLIENT_SECRET: CLIENT.secret,
    LOG_LEVEL: 'warn',
    ...env,
  };
  const logFile = (process) => join(resultsDir, `${name}-${stamp}-${process}.log`);
  const gateway = new ChildApp('gateway', join(ROOT, 'dist/apps/gateway/src/main.js'), {
    env: appEnv,
    port,
    logFile: logFile('gateway'),
    execArgv: GATEWAY_NODE_FLAGS,
  });
  gateway.start();
  onCleanup('stop gateway', () => gateway.stop());
  // The gateway migrates the fresh database before the workers start.
  await gateway.waitFor('/health/ready', startTimeoutMs);
  const started = [];
  for (let i = 1; i <= workers; i++) {
    const workerPort = await freePort();
    const worker = new ChildApp(`worker${i}`, join(ROOT, 'dist/apps/worker/src/main.js'), {
      env: { ...appEnv, WORKER_PORT: String(workerPort) },
      port: workerPort,
      logFile: logFile(`worker${i}`),
    });
    worker.start();
    onCleanup(`stop worker${i}`, () => worker.stop());
    started.push(worker);
  }
  for (const worker of started) await worker.waitFor('/health/ready', startTimeoutMs);

  const res = await api(port, 'POST', '/v2/auth/token', null, {
    grant_type: 'client_credentials',
    client_id: CLIENT.id,
    client_secret: CLIENT.secret,
  });
  if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${res.text}`);
  return {
    port,
    token: res.body.access_token,
    prefix,
    databaseUrl: appEnv.DATABASE_URL,
    gateway,
    workers: started,
  };
}

module.exports = { api, startApps };
