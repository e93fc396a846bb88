#!/usr/bin/env node
'use strict';
// Webhooks benchmark (issue 7): deliveries per second to a local receiver with BENCH_SUBSCRIPTIONS
// (100) webhooks subscribed to task.updated, while BENCH_EVENTS task creations each fan out to all
// of them. One gateway, one worker. Needs `npx nest build`; PostgreSQL and Redis on 127.0.0.1.
const { createServer } = require('node:http');
const { join } = require('node:path');
const { onCleanup, runBench } = require('./lib/cleanup');
const { api, startApps } = require('./lib/apps');
const { killAllNow } = require('./lib/processes');
const { writeResults } = require('./lib/report');
const { freePort, round, sleep } = require('./lib/util');

const RESULTS_DIR = join(__dirname, 'results');
const int = (name, fallback) => (process.env[name] ? Number(process.env[name]) : fallback);
const settings = {
  subscriptions: int('BENCH_SUBSCRIPTIONS', 100),
  events: int('BENCH_EVENTS', 100),
  receiverDelayMs: int('BENCH_RECEIVER_DELAY_MS', 0),
  timeoutMs: int('BENCH_TIMEOUT_MS', 300000),
};
const say = (m) => process.stdout.write(`[bench:webhooks] ${m}\n`);

/** The API's JSON answer; throws on an error status. */
async function call(port, method, path, token, body) {
  const res = await api(port, method, path, token, body);
  if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${res.text}`);
  return res.body;
}

async function main(stamp) {
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

  const { port: gatewayPort, token } = await startApps({
    name: 'webhooks',
    resultsDir: RESULTS_DIR,
    stamp,
    env: { WEBHOOKS_ALLOW_PRIVATE: 'true' },
  });
  const me = await call(gatewayPort, 'GET', '/v2/auth/me', token);
  const project = await call(gatewayPort, 'POST', '/v2/projects', token, {
    name: 'Bench',
    key: 'HOOKS',
    ownerId: me.userId,
  });
  say(`${settings.subscriptions} webhooks`);
  for (let i = 0; i < settings.subscriptions; i++) {
    await call(gatewayPort, 'POST', '/v2/webhooks', token, {
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
        await call(gatewayPort, 'POST', `/v2/projects/${project.id}/tasks`, token, {
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

runBench(main, { hardKill: killAllNow, resultsDir: RESULTS_DIR });
