#!/usr/bin/env node
'use strict';
// Webhooks benchmark (issue 7): deliveries per second to a local receiver with BENCH_SUBSCRIPTIONS
// (100) webhooks subscribed to task.updated, while BENCH_EVENTS task creations each fan out to all
// of them. One gateway, one worker. Needs `npx nest build`; PostgreSQL and Redis on 127.0.0.1.
const { randomBytes } = require('node:crypto');
const { createServer } = require('node:http');
const { mkdirSync } = require('node:fs');
const { join } = require('node:path');
const { installHandlers, onCleanup, runCleanup } = require('./lib/cleanup');
const { ChildApp, killAllNow } = require('./lib/processes');
const { writeResults } = require('./lib/report');
const { createDatabase, deleteRedisPrefix, dropDatabase } = require('./lib/resources');
const { freePort, round, sleep } = require('./lib/util');

const ROOT = join(__dirname, '..');
const RESULTS_DIR = join(__dirname, 'results');
const int = (name, fallback) => (process.env[name] ? Number(process.env[name]) : fallback);
const settings = {
  subscriptions: int('BENCH_SUBSCRIPTIONS', 100),
  events: int('BENCH_EVENTS', 100),
  receiverDelayMs: int('BENCH_RECEIVER_DELAY_MS', 0),
  timeoutMs: int('BENCH_TIMEOUT_MS', 300000),
};
const PG = 'postgres://postgres@127.0.0.1:5432';
const REDIS = 'redis://127.0.0.1:6379';
const say = (m) => process.stdout.write(`[bench:webhooks] ${m}\n`);

async function api(port, method, path, token, body) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(30000),
  });
  const text = await res.text();
  if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function main() {
  installHandlers(killAllNow);
  const tag = randomBytes(4).toString('hex');
  const db = `cocode_bench_webhooks_${tag}`;
  const prefix = `cocode_bench:${tag}`;
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  mkdirSync(RESULTS_DIR, { recursive: true });
  await createDatabase(PG, db);
  onCleanup('drop database', () => dropDatabase(PG, db));
  onCleanup('redis keys', () => deleteRedisPrefix(REDIS, prefix));

  // The receiver: counts deliveries per (webhook path, webhook-id) to catch duplicates.
  const seen = new Map();
  let received = 0;
  let firstAt = 0;
  let lastAt = 0;
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const key = `${req.url} ${req.headers['webhook-id']}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      received++;
      lastAt = Date.now();
      firstAt ||= lastAt;
      setTimeout(() => res.writeHead(200).end('ok'), settings.receiverDelayMs);
    });
  });
  const receiverPort = await freePort();
  await new Promise((r) => receiver.listen(receiverPort, '127.0.0.1', r));
  onCleanup(
    'receiver',
    () =>
      new Promise((r) => {
        receiver.closeAllConnections();
        receiver.close(r);
      }),
  );

  const gatewayPort = await freePort();
  const workerPort = await freePort();
  const env = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(gatewayPort),
    WORKER_PORT: String(workerPort),
    DATABASE_URL: `${PG}/${db}`,
    REDIS_URL: REDIS,
    REDIS_PREFIX: prefix,
    JWT_SECRET: randomBytes(32).toString('base64url'),
    BOOTSTRAP_ADMIN_USERNAME: 'admin',
    BOOTSTRAP_ADMIN_EMAIL: 'admin@bench.local',
    BOOTSTRAP_ADMIN_PASSWORD: 'BenchAdmin123',
    BOOTSTRAP_CLIENT_ID: 'bench_client',
    BOOTSTRAP_CLIENT_SECRET: 'bench_client_secret_0123456789',
    LOG_LEVEL: 'warn',
    WEBHOOKS_ALLOW_PRIVATE: 'true',
  };
  const gateway = new ChildApp('gateway', join(ROOT, 'dist/apps/gateway/src/main.js'), {
    env,
    port: gatewayPort,
    logFile: join(RESULTS_DIR, `webhooks-${stamp}-gateway.log`),
  });
  gateway.start();
  onCleanup('stop gateway', () => gateway.stop());
  await gateway.waitFor('/health/ready', 30000);
  const worker = new ChildApp('worker', join(ROOT, 'dist/apps/worker/src/main.js'), {
    env,
    port: workerPort,
    logFile: join(RESULTS_DIR, `webhooks-${stamp}-worker.log`),
  });
  worker.start();
  onCleanup('stop worker', () => worker.stop());
  await worker.waitFor('/health/ready', 30000);

  const token = (
    await api(gatewayPort, 'POST', '/v2/auth/token', null, {
      grant_type: 'client_credentials',
      client_id: 'bench_client',
      client_secret: 'bench_client_secret_0123456789',
    })
  ).access_token;
  const me = await api(gatewayPort, 'GET', '/v2/auth/me', token);
  const project = await api(gatewayPort, 'POST', '/v2/projects', token, {
    name: 'Bench',
    key: 'HOOKS',
    ownerId: me.userId,
  });
  say(`${settings.subscriptions} webhooks`);
  for (let i = 0; i < settings.subscriptions; i++) {
    await api(gatewayPort, 'POST', '/v2/webhooks', token, {
      url: `http://127.0.0.1:${receiverPort}/hook/${i}`,
      events: ['task.updated'],
      projectId: project.id,
    });
  }
  const expected = settings.subscriptions * settings.events;
  say(`${settings.events} events -> ${expected} deliveries`);
  const started = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (next < settings.events) {
        next++;
        await api(gatewayPort, 'POST', `/v2/projects/${project.id}/tasks`, token, {
          type: 'task',
          title: `event ${next}`,
        });
      }
    }),
  );
  const createdMs = Date.now() - started;
  const deadline = Date.now() + settings.timeoutMs;
  while (received < expected && Date.now() < deadline) await sleep(100);
  const wallMs = lastAt - started;
  const duplicates = [...seen.values()].filter((n) => n > 1).length;
  const result = {
    settings,
    expected,
    received,
    unique: seen.size,
    duplicates,
    eventsCreatedSeconds: round(createdMs / 1000, 2),
    wallSeconds: round(wallMs / 1000, 2),
    deliveriesPerSecond: round(received / (wallMs / 1000), 0),
    firstDeliveryAfterMs: firstAt - started,
  };
  const table = [
    '| Subscriptions | Events | Deliveries (received/expected) | Duplicates | Wall time | Deliveries/s | First delivery after |',
    '| --: | --: | --: | --: | --: | --: | --: |',
    `| ${settings.subscriptions} | ${settings.events} | ${received}/${expected} | ${duplicates} | ${result.wallSeconds} s | ${result.deliveriesPerSecond} | ${result.firstDeliveryAfterMs} ms |`,
  ].join('\n');
  process.stdout.write(`\n${table}\n\n`);
  writeResults(RESULTS_DIR, `webhooks-${stamp}`, { ...result, table });
  if (received < expected) throw new Error(`only ${received}/${expected} deliveries arrived`);
}

main()
  .then(() => runCleanup())
  .then(() => process.exit(0))
  .catch(async (err) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : err}\n`);
    await runCleanup();
    process.exit(1);
  });
