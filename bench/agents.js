#!/usr/bin/env node
'use strict';
// Agents benchmark (issue 4): N activations of the product agent with the anthropic provider
// against a local fake Messages API answering every call after BENCH_MODEL_DELAY_MS (500 ms),
// two workers; then the same count with the offline template provider; next to raw BullMQ
// empty-job throughput on the same Redis. Needs `npx nest build`; PostgreSQL and Redis on 127.0.0.1.
const { createServer } = require('node:http');
const { join } = require('node:path');
const { Queue, Worker } = require('bullmq');
const { Client } = require('pg');
const { onCleanup, runBench } = require('./lib/cleanup');
const { startApps, api } = require('./lib/apps');
const { killAllNow } = require('./lib/processes');
const { writeResults } = require('./lib/report');
const { freePort, round, sleep } = require('./lib/util');

const RESULTS_DIR = join(__dirname, 'results');
const int = (name, fallback) => (process.env[name] ? Number(process.env[name]) : fallback);
const settings = {
  activations: int('BENCH_ACTIVATIONS', 1000),
  modelDelayMs: int('BENCH_MODEL_DELAY_MS', 500),
  workers: int('BENCH_WORKERS', 2),
  senders: int('BENCH_SENDERS', 50),
  bullJobs: int('BENCH_BULL_JOBS', 20000),
  timeoutMs: int('BENCH_TIMEOUT_MS', 180000),
};
const say = (m) => process.stdout.write(`[bench:agents] ${m}\n`);
const percentile = (values, p) => {
  const s = [...values].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : null;
};

/** The fake Messages API: every call answers a JSON object after the delay. */
async function fakeAnthropic(delayMs) {
  let calls = 0;
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      calls++;
      const body = JSON.parse(raw || '{}');
      const isDocument = /"document"/.test(body.system ?? '');
      const json = isDocument
        ? { document: '# PRD\n\n- benchmark' }
        : { items: ['a', 'b'], userStories: [{ id: 'US-1', title: 't' }] };
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            id: `msg_${calls}`,
            type: 'message',
            role: 'assistant',
            model: body.model,
            content: [{ type: 'text', text: JSON.stringify(json) }],
            stop_reason: 'end_turn',
            stop_sequence: null,
            usage: { input_tokens: 100, output_tokens: 50 },
          }),
        );
      }, delayMs);
    });
  });
  server.keepAliveTimeout = 60000;
  const port = await freePort();
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return {
    port,
    calls: () => calls,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(r);
      }),
  };
}

/** Fires `count` activations with `senders` in parallel; returns each 202's latency. */
async function fire(port, token, taskId, count, config) {
  const latencies = [];
  let next = 0;
  const failures = [];
  const sender = async () => {
    while (next < count) {
      next++;
      const t0 = process.hrtime.bigint();
      const res = await api(port, 'POST', '/v2/agents/product/activate', token, {
        taskId,
        input: { requirement: '实现用户中心模块,支持手机号登录、邮箱登录、第三方登录', context: 'bench' },
        config,
      });
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (res.status !== 202) failures.push(res.status);
    }
  };
  await Promise.all(Array.from({ length: settings.senders }, sender));
  if (failures.length)
    throw new Error(`${failures.length} activations refused: ${[...new Set(failures)].join(', ')}`);
  return latencies;
}

async function waitAll(pg, provider, since, count) {
  const deadline = Date.now() + settings.timeoutMs;
  for (;;) {
    const { rows } = await pg.query(
      `SELECT count(*) FILTER (WHERE status = 'completed')::int AS done, count(*) FILTER (WHERE status = 'failed')::int AS failed
         FROM agent_activations WHERE provider = $1 AND created_at >= $2`,
      [provider, since],
    );
    if (rows[0].done + rows[0].failed >= count) return rows[0];
    if (Date.now() > deadline)
      throw new Error(`only ${rows[0].done}/${count} done after ${settings.timeoutMs} ms`);
    await sleep(200);
  }
}

async function phase(label, ctx, provider, config) {
  say(`${label}: ${settings.activations} activations`);
  const since = new Date();
  const started = Date.now();
  const latencies = await fire(ctx.port, ctx.token, ctx.taskId, settings.activations, config);
  const acceptedMs = Date.now() - started;
  const outcome = await waitAll(ctx.pg, provider, since, settings.activations);
  const { rows } = await ctx.pg.query(
    `SELECT max(completed_at) AS last, min(a.created_at) AS first,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY pickup) AS p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY pickup) AS p99
       FROM (SELECT a.created_at, a.completed_at,
                    extract(epoch FROM (SELECT min(e.created_at) FROM agent_activation_events e WHERE e.activation_id = a.id AND e.type = 'step') - a.created_at) * 1000 AS pickup
               FROM agent_activations a WHERE provider = $1 AND created_at >= $2) a`,
    [provider, since],
  );
  const wallMs = new Date(rows[0].last).getTime() - started;
  return {
    label,
    activations: settings.activations,
    completed: outcome.done,
    failed: outcome.failed,
    wallSeconds: round(wallMs / 1000, 2),
    activationsPerSecond: round(settings.activations / (wallMs / 1000), 1),
    acceptSeconds: round(acceptedMs / 1000, 2),
    accepted202: { p50: round(percentile(latencies, 50), 2), p99: round(percentile(latencies, 99), 2) },
    pickupMs: { p50: round(Number(rows[0].p50), 1), p99: round(Number(rows[0].p99), 1) },
  };
}

/** Raw BullMQ: empty jobs through one queue, on the same Redis, as a ceiling for the queue itself. */
async function rawBullmq(prefix) {
  const connection = { host: '127.0.0.1', port: 6379, maxRetriesPerRequest: null };
  const queue = new Queue('bench-empty', { connection, prefix });
  let done = 0;
  let resolveAll;
  const all = new Promise((r) => (resolveAll = r));
  const worker = new Worker('bench-empty', async () => undefined, { connection, prefix, concurrency: 100 });
  worker.on('completed', () => ++done === settings.bullJobs && resolveAll());
  const started = Date.now();
  for (let i = 0; i < settings.bullJobs; i += 1000) {
    await queue.addBulk(
      Array.from({ length: Math.min(1000, settings.bullJobs - i) }, (_, j) => ({
        name: 'empty',
        data: { i: i + j },
        opts: { removeOnComplete: true },
      })),
    );
  }
  await Promise.race([all, sleep(settings.timeoutMs)]);
  const ms = Date.now() - started;
  await worker.close();
  await queue.close();
  return {
    jobs: settings.bullJobs,
    completed: done,
    seconds: round(ms / 1000, 2),
    jobsPerSecond: round(done / (ms / 1000), 0),
  };
}

async function main(stamp) {
  const fake = await fakeAnthropic(settings.modelDelayMs);
  onCleanup('fake anthropic', () => fake.close());
  const {
    port: gatewayPort,
    token,
    prefix,
    databaseUrl,
  } = await startApps({
    name: 'agents',
    resultsDir: RESULTS_DIR,
    stamp,
    workers: settings.workers,
    env: {
      AGENTS_PROVIDER: 'anthropic',
      ANTHROPIC_API_KEY: 'bench-key',
      ANTHROPIC_BASE_URL: `http://127.0.0.1:${fake.port}`,
    },
  });
  const me = (await api(gatewayPort, 'GET', '/v2/auth/me', token)).body;
  const project = (
    await api(gatewayPort, 'POST', '/v2/projects', token, { name: 'Bench', key: 'BENCH', ownerId: me.userId })
  ).body;
  const task = (
    await api(gatewayPort, 'POST', `/v2/projects/${project.id}/tasks`, token, {
      type: 'story',
      title: 'bench',
    })
  ).body;
  const pg = new Client({ connectionString: databaseUrl });
  await pg.connect();
  onCleanup('pg', () => pg.end());
  const ctx = { port: gatewayPort, token, taskId: task.id, pg };

  const anthropic = await phase('anthropic (fake Messages API)', ctx, 'anthropic', {
    model: 'claude-sonnet-4',
  });
  anthropic.modelCalls = fake.calls();
  const template = await phase('template provider', ctx, 'template', { model: 'template' });
  say('raw BullMQ empty jobs');
  const bull = await rawBullmq(`${prefix}:raw`);

  const rows = [anthropic, template].map(
    (p) =>
      `| ${p.label} | ${p.completed}/${p.activations} (${p.failed} failed) | ${p.wallSeconds} s | ${p.activationsPerSecond} | ${p.accepted202.p50} / ${p.accepted202.p99} ms | ${p.pickupMs.p50} / ${p.pickupMs.p99} ms |`,
  );
  const table = [
    `| Phase | Completed | Wall time | Activations/s | 202 p50 / p99 | Pickup p50 / p99 |`,
    `| --- | --: | --: | --: | --: | --: |`,
    ...rows,
    '',
    `Raw BullMQ on the same Redis: ${bull.completed} empty jobs in ${bull.seconds} s = ${bull.jobsPerSecond} jobs/s (one worker, concurrency 100).`,
    `Model calls answered by the fake API: ${anthropic.modelCalls} (delay ${settings.modelDelayMs} ms each); workers: ${settings.workers}; senders: ${settings.senders}.`,
    `Targets: 202 p99 < 10 ms -> ${anthropic.accepted202.p99 < 10 ? 'PASS' : 'FAIL'}; ${settings.activations} anthropic activations in < 40 s -> ${anthropic.wallSeconds < 40 ? 'PASS' : 'FAIL'}.`,
  ].join('\n');
  process.stdout.write(`\n${table}\n\n`);
  writeResults(RESULTS_DIR, `agents-${stamp}`, { settings, anthropic, template, bullmq: bull, table });
}

runBench(main, { hardKill: killAllNow, resultsDir: RESULTS_DIR });
