#!/usr/bin/env node
'use strict';
// Gateway benchmark: GET /v2/users/{userId} through the compiled gateway versus a bare
// Fastify + pg server running the same query, plus the gateway's start-to-ready time and idle
// RSS. See bench/README.md. Needs `npx nest build` first; PostgreSQL and Redis on 127.0.0.1.
const { randomBytes } = require('node:crypto');
const { existsSync, mkdirSync, readdirSync, readFileSync, statSync } = require('node:fs');
const os = require('node:os');
const { join } = require('node:path');
const { installHandlers, onCleanup, runCleanup } = require('./lib/cleanup');
const { summarizeCpuProfile } = require('./lib/cpu-profile');
const { runLoad, stopCurrentLoad } = require('./lib/load');
const { ChildApp, killAllNow } = require('./lib/processes');
const { evaluateTargets, markdownTable, pct, writeResults } = require('./lib/report');
const { createDatabase, databaseExists, deleteRedisPrefix, dropDatabase } = require('./lib/resources');
const {
  cpuMeter,
  freePort,
  gitDescribe,
  parsePrometheus,
  readMemoryKb,
  request,
  round,
  rssSampler,
  sleep,
} = require('./lib/util');

const ROOT = join(__dirname, '..');
const RESULTS_DIR = join(__dirname, 'results');

function intEnv(name, fallback, min, max) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
  }
  return n;
}

function loopbackUrl(name, fallback) {
  const raw = process.env[name] || fallback;
  const u = new URL(raw);
  if (!['127.0.0.1', 'localhost'].includes(u.hostname)) throw new Error(`${name} must point at 127.0.0.1`);
  return raw.replace(/\/$/, '');
}

/** BENCH_GATEWAY_ENV="LOG_REQUESTS=false AUTH_PRINCIPAL_CACHE_MS=5000": extra settings for the gateway and worker. */
function extraAppEnv() {
  const out = {};
  for (const pair of (process.env.BENCH_GATEWAY_ENV ?? '').split(/\s+/).filter(Boolean)) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(pair);
    if (!m) throw new Error(`BENCH_GATEWAY_ENV: expected KEY=VALUE, got "${pair}"`);
    out[m[1]] = m[2];
  }
  return out;
}

const settings = {
  durationSeconds: intEnv('BENCH_DURATION', 10, 1, 600),
  warmupSeconds: intEnv('BENCH_WARMUP', 2, 0, 60),
  connections: intEnv('BENCH_CONNECTIONS', 50, 1, 1000),
  startTimeoutMs: intEnv('BENCH_START_TIMEOUT_MS', 30000, 1000, 300000),
  idleSettleMs: intEnv('BENCH_IDLE_SETTLE_MS', 1000, 0, 60000),
  cpuProfile: /^(1|true|yes)$/i.test(process.env.BENCH_CPU_PROF ?? ''),
  failOnTarget: /^(1|true|yes)$/i.test(process.env.BENCH_FAIL_ON_TARGET ?? ''),
  pgBase: loopbackUrl('BENCH_PG_URL', 'postgres://postgres@127.0.0.1:5432'),
  redisUrl: loopbackUrl('BENCH_REDIS_URL', 'redis://127.0.0.1:6379'),
  extraGatewayEnv: extraAppEnv(),
};

const say = (msg) => process.stdout.write(`[bench] ${msg}\n`);
const errorMessage = (err) => (err instanceof Error ? err.message : String(err));

function redactEnv(env) {
  const secret = /SECRET|PASSWORD|KEY/;
  return Object.fromEntries(
    Object.entries(env)
      .filter(([k]) => k !== 'PATH')
      .map(([k, v]) => [k, secret.test(k) ? '[redacted]' : v]),
  );
}

/** warn/error lines the gateway wrote to its log after byte `offset` (pino JSON lines). */
function logLinesSince(file, offset) {
  let text = '';
  try {
    text = readFileSync(file, 'utf8').slice(offset);
  } catch {
    return { lines: 0, byLevel: {}, samples: [] };
  }
  const byLevel = {};
  const samples = [];
  const seen = new Set();
  const lines = text.split('\n').filter(Boolean);
  for (const line of lines) {
    let level = 'non-json';
    let msg = line.slice(0, 300);
    try {
      const j = JSON.parse(line);
      level = j.level ?? 'unknown';
      msg = `${j.context ? `[${j.context}] ` : ''}${j.msg ?? ''}${j.err?.message ? `: ${j.err.message}` : ''}`;
    } catch {
      /* keep the raw line */
    }
    byLevel[level] = (byLevel[level] ?? 0) + 1;
    if (!seen.has(msg) && samples.length < 5) {
      seen.add(msg);
      samples.push(`${level}: ${msg}`.slice(0, 400));
    }
  }
  return { lines: lines.length, byLevel, samples };
}

const fileSize = (file) => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};

const METRICS = [
  'nodejs_heap_size_used_bytes',
  'nodejs_heap_size_total_bytes',
  'nodejs_external_memory_bytes',
  'nodejs_gc_duration_seconds_sum',
  'nodejs_gc_duration_seconds_count',
  'nodejs_eventloop_lag_p99_seconds',
  'process_cpu_seconds_total',
];

/** Heap, GC and event-loop figures from the gateway's own GET /metrics (prom-client defaults). */
async function gatewayMetrics(port) {
  try {
    const res = await request(port, 'GET', '/metrics', { timeoutMs: 5000 });
    if (res.status !== 200) return { error: `GET /metrics answered ${res.status}` };
    const m = parsePrometheus(res.text, METRICS);
    const gcByKind = {};
    for (const [, kind, seconds] of res.text.matchAll(
      /^nodejs_gc_duration_seconds_sum\{kind="(\w+)"\}\s+(\S+)/gm,
    )) {
      gcByKind[kind] = round(Number(seconds), 3);
    }
    const mb = (v) => (v === undefined ? null : round(v / 2 ** 20, 1));
    return {
      heapUsedMb: mb(m.nodejs_heap_size_used_bytes),
      heapTotalMb: mb(m.nodejs_heap_size_total_bytes),
      externalMb: mb(m.nodejs_external_memory_bytes),
      gcSeconds: round(m.nodejs_gc_duration_seconds_sum ?? null, 2),
      gcCount: m.nodejs_gc_duration_seconds_count ?? null,
      gcSecondsByKind: gcByKind,
      cpuSeconds: round(m.process_cpu_seconds_total ?? null, 2),
      eventLoopLagP99Ms:
        m.nodejs_eventloop_lag_p99_seconds === undefined
          ? null
          : round(m.nodejs_eventloop_lag_p99_seconds * 1000, 1),
    };
  } catch (err) {
    return { error: errorMessage(err) };
  }
}

async function loadPhase(name, target, { port, path, headers, pids }) {
  if (settings.warmupSeconds > 0) {
    say(`${name}: warm-up ${settings.warmupSeconds} s at ${settings.connections} connections`);
    const warm = await runLoad({
      title: `${name} warm-up`,
      port,
      path,
      headers,
      connections: settings.connections,
      durationSeconds: settings.warmupSeconds,
    });
    say(`${name}: warm-up ${warm.rps} req/s, ${warm.non2xx} non-2xx, ${warm.errors} errors`);
  }
  if (!target.running)
    throw new Error(`${name} is no longer running after the warm-up:\n${target.logTail()}`);
  say(`${name}: measuring ${settings.durationSeconds} s at ${settings.connections} connections`);
  const meter = cpuMeter(pids);
  const stopRss = rssSampler(target.pid);
  const fromUs = process.hrtime.bigint() / 1000n;
  const load = await runLoad({
    title: name,
    port,
    path,
    headers,
    connections: settings.connections,
    durationSeconds: settings.durationSeconds,
  });
  const toUs = process.hrtime.bigint() / 1000n;
  const cpu = meter();
  const rssMb = stopRss();
  if (!target.running) throw new Error(`${name} died during the run:\n${target.logTail()}`);
  say(
    `${name}: ${load.rps} req/s, p50 ${load.latencyMs.p50} ms, p99 ${load.latencyMs.p99} ms, ` +
      `${load.non2xx} non-2xx, ${load.errors} errors`,
  );
  return { load, cpu, rssMb, window: { fromUs: Number(fromUs), toUs: Number(toUs) } };
}

async function main() {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const tag = randomBytes(4).toString('hex');
  const dbName = `cocode_bench_${tag}`;
  const redisPrefix = `cocode_bench:${tag}`;
  const logFile = (name) => join(RESULTS_DIR, `${stamp}-${name}.log`);
  const profileDir = join(RESULTS_DIR, `${stamp}-cpuprofile`);
  const gatewayScript = join(ROOT, 'dist', 'apps', 'gateway', 'src', 'main.js');
  const workerScript = join(ROOT, 'dist', 'apps', 'worker', 'src', 'main.js');
  for (const f of [gatewayScript, workerScript]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: run "npx nest build" first`);
  }
  mkdirSync(RESULTS_DIR, { recursive: true });

  installHandlers(killAllNow);
  // Hard limit on the whole run (every wait inside has its own, shorter, limit).
  const budgetMs =
    3 * settings.startTimeoutMs + 4 * (settings.durationSeconds + settings.warmupSeconds) * 1000 + 60000;
  const watchdog = setTimeout(() => {
    process.stderr.write(`\nbenchmark exceeded its ${budgetMs} ms budget: stopping\n`);
    runCleanup().finally(() => process.exit(1));
  }, budgetMs);

  const results = {
    timestamp: new Date().toISOString(),
    commit: gitDescribe(ROOT),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? null,
      memoryMb: Math.round(os.totalmem() / 2 ** 20),
      loadAvgAtStart: os.loadavg().map((n) => round(n, 2)),
      node: process.version,
    },
    settings: { ...settings },
  };
  say(`database ${dbName}, Redis prefix ${redisPrefix}, logs in ${RESULTS_DIR}/${stamp}-*.log`);

  // Cleanup steps run in reverse order: load, children, database, Redis keys.
  const cleanupReport = {};
  onCleanup('Redis keys', async () => {
    cleanupReport.redis = await deleteRedisPrefix(settings.redisUrl, redisPrefix);
  });
  await createDatabase(settings.pgBase, dbName);
  onCleanup('database', async () => {
    await dropDatabase(settings.pgBase, dbName);
    cleanupReport.databaseDropped = !(await databaseExists(settings.pgBase, dbName));
  });

  const [gatewayPort, workerPort, barePort] = [await freePort(), await freePort(), await freePort()];
  const adminUsername = 'bench_admin';
  const adminPassword = `Bench${randomBytes(6).toString('hex')}A1`;
  const clientId = 'bench_client';
  const clientSecret = randomBytes(24).toString('base64url');
  // The gateway's defaults except LOG_LEVEL=warn (LOG_REQUESTS, pool size, caches: not set).
  const appEnv = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(gatewayPort),
    WORKER_PORT: String(workerPort),
    DATABASE_URL: `${settings.pgBase}/${dbName}`,
    REDIS_URL: settings.redisUrl,
    REDIS_PREFIX: redisPrefix,
    JWT_SECRET: randomBytes(36).toString('base64url'),
    BOOTSTRAP_ADMIN_USERNAME: adminUsername,
    BOOTSTRAP_ADMIN_EMAIL: 'bench_admin@example.com',
    BOOTSTRAP_ADMIN_PASSWORD: adminPassword,
    BOOTSTRAP_CLIENT_ID: clientId,
    BOOTSTRAP_CLIENT_SECRET: clientSecret,
    LOG_LEVEL: 'warn',
    ...settings.extraGatewayEnv,
  };
  const profileArgs = (name) =>
    settings.cpuProfile
      ? [
          '--cpu-prof',
          `--cpu-prof-dir=${join(profileDir, name)}`,
          '-r',
          join(__dirname, 'lib', 'exit-on-sigusr2.js'),
        ]
      : [];
  const gatewayExecArgv = profileArgs('gateway');
  const extras = Object.entries(settings.extraGatewayEnv).map(([k, v]) => `${k}=${v}`);
  const settingsLine =
    `NODE_ENV=production, LOG_LEVEL=${appEnv.LOG_LEVEL}, ` +
    `LOG_REQUESTS=${appEnv.LOG_REQUESTS ?? 'unset (default true)'}` +
    (extras.length ? `, extra: ${extras.join(' ')}` : ', everything else at its default') +
    (settings.cpuProfile ? ', under node --cpu-prof' : '');
  results.gatewaySettings = {
    summary: settingsLine,
    env: redactEnv(appEnv),
    execArgv: gatewayExecArgv,
    logging:
      'LOG_LEVEL=warn; LOG_REQUESTS default true unless set: the onResponse hook calls request.log.info per ' +
      'request, which pino drops below warn; Fastify request logging disabled by the app (fastifyOptions)',
    defaultsInEffect:
      'DATABASE_POOL_SIZE=10, AUTH_PRINCIPAL_CACHE_MS=1000, TRUST_PROXY=false (unless set above)',
  };
  say(`gateway settings: ${settingsLine}`);

  const gateway = new ChildApp('gateway', gatewayScript, {
    env: appEnv,
    port: gatewayPort,
    logFile: logFile('gateway'),
    execArgv: gatewayExecArgv,
  });
  const worker = new ChildApp('worker', workerScript, {
    env: appEnv,
    port: workerPort,
    logFile: logFile('worker'),
  });
  const bare = new ChildApp('bare', join(__dirname, 'bare-server.js'), {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      BARE_PORT: String(barePort),
      DATABASE_URL: appEnv.DATABASE_URL,
    },
    port: barePort,
    logFile: logFile('bare'),
    execArgv: profileArgs('bare'),
  });
  onCleanup('processes', async () => {
    await Promise.all([gateway.stop(), worker.stop(), bare.stop()]);
  });
  onCleanup('load', async () => stopCurrentLoad());

  // ---- gateway start-up (alone on the machine's cores: the worker starts after) -------------------
  say('starting the gateway (runs the migrations on the fresh database)');
  gateway.start();
  const startToReadyMs = await gateway.waitFor('/health/live', settings.startTimeoutMs);
  const startToHealthReadyMs = await gateway.waitFor('/health/ready', settings.startTimeoutMs);
  say(
    `gateway: /health/live 200 after ${round(startToReadyMs, 0)} ms, /health/ready after ${round(startToHealthReadyMs, 0)} ms`,
  );
  say('starting the worker');
  worker.start();
  await worker.waitFor('/health/ready', settings.startTimeoutMs);
  await sleep(settings.idleSettleMs);
  const idle = readMemoryKb(gateway.pid);
  const idleRssMb = idle.rssKb === null ? null : round(idle.rssKb / 1024, 1);
  say(`gateway idle RSS ${idleRssMb} MB`);

  // ---- token and the user to read ----------------------------------------------------------------
  const tokenRes = await request(gatewayPort, 'POST', '/v2/auth/token', {
    body: {
      grant_type: 'password',
      username: adminUsername,
      password: adminPassword,
      client_id: clientId,
      client_secret: clientSecret,
    },
  });
  if (tokenRes.status !== 200) throw new Error(`token request failed: ${tokenRes.status} ${tokenRes.text}`);
  const token = tokenRes.json.access_token;
  const auth = { authorization: `Bearer ${token}` };
  const username = `bench_${tag}`;
  const created = await request(gatewayPort, 'POST', '/v2/users', {
    headers: auth,
    body: {
      username,
      email: `${username}@example.com`,
      password: `Passw0rd${tag}`,
      fullName: 'Bench Reader',
      department: 'Benchmarks',
    },
  });
  if (created.status !== 201) throw new Error(`user creation failed: ${created.status} ${created.text}`);
  const userId = created.json.id;
  say(`admin token obtained; user ${userId} created`);

  // ---- baseline server and a correctness check: both must answer the same body ----------------------
  bare.start();
  await bare.waitFor('/health', settings.startTimeoutMs);
  const gatewayPath = `/v2/users/${encodeURIComponent(userId)}`;
  const barePath = `/users/${encodeURIComponent(userId)}`;
  const [gOne, bOne] = [
    await request(gatewayPort, 'GET', gatewayPath, { headers: auth }),
    await request(barePort, 'GET', barePath),
  ];
  if (gOne.status !== 200) throw new Error(`GET ${gatewayPath} answered ${gOne.status}: ${gOne.text}`);
  if (bOne.status !== 200) throw new Error(`GET ${barePath} answered ${bOne.status}: ${bOne.text}`);
  const bodiesMatch = JSON.stringify(gOne.json) === JSON.stringify(bOne.json);
  if (!bodiesMatch) say(`WARNING: bodies differ\n  gateway: ${gOne.text}\n  bare:    ${bOne.text}`);
  results.responseCheck = {
    bodiesMatch,
    gatewayBytes: gOne.text.length,
    bareBytes: bOne.text.length,
    gatewayHeaders: Object.keys(gOne.headers),
  };

  // ---- load: the gateway, then the baseline (never both at once) ---------------------------------
  const gatewayLogOffset = fileSize(gateway.logFile);
  const metricsBefore = await gatewayMetrics(gatewayPort);
  const g = await loadPhase('gateway', gateway, {
    port: gatewayPort,
    path: gatewayPath,
    headers: auth,
    pids: { gateway: gateway.pid, loadGenerator: process.pid },
  });
  const afterLoad = readMemoryKb(gateway.pid);
  const metricsAfter = await gatewayMetrics(gatewayPort);
  const gatewayLog = logLinesSince(gateway.logFile, gatewayLogOffset);
  const b = await loadPhase('bare', bare, {
    port: barePort,
    path: barePath,
    headers: {},
    pids: { bare: bare.pid, loadGenerator: process.pid },
  });

  const rpsRatioPct = pct(g.load.rps, b.load.rps);
  Object.assign(results, {
    gateway: {
      startToReadyMs: round(startToReadyMs, 0),
      startToHealthReadyMs: round(startToHealthReadyMs, 0),
      idleRssMb,
      rssAfterLoadMb: afterLoad.rssKb === null ? null : round(afterLoad.rssKb / 1024, 1),
      peakRssMb: afterLoad.hwmKb === null ? null : round(afterLoad.hwmKb / 1024, 1),
      rssDuringLoadMb: g.rssMb,
      runtimeBeforeLoad: metricsBefore,
      runtimeAfterLoad: metricsAfter,
      load: g.load,
      cpuDuringLoad: g.cpu,
      logDuringLoad: gatewayLog,
    },
    bare: { load: b.load, cpuDuringLoad: b.cpu, rssDuringLoadMb: b.rssMb },
    rpsRatioPct,
  });
  results.targets = evaluateTargets({
    rpsRatioPct,
    gatewayP99Ms: g.load.latencyMs.p99,
    idleRssMb,
    startToReadyMs: results.gateway.startToReadyMs,
  });

  // ---- optional CPU profiles (gateway and baseline) ----------------------------------------------
  if (settings.cpuProfile) {
    say('stopping the gateway and the bare server with SIGUSR2 so that they write their CPU profiles');
    await Promise.all([gateway.stop('SIGUSR2', 15000), bare.stop('SIGUSR2', 15000)]);
    results.cpuProfiles = {};
    for (const [name, phase] of [
      ['gateway', g],
      ['bare', b],
    ]) {
      const dir = join(profileDir, name);
      const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : [];
      results.cpuProfiles[name] = files.length
        ? {
            ...summarizeCpuProfile(join(dir, files[0]), phase.window, 40, phase.load.totalRequests),
            window: phase.window,
          }
        : { error: `no .cpuprofile written in ${dir}` };
    }
  }

  // ---- report --------------------------------------------------------------------------------------
  const table = markdownTable(results);
  results.table = table;
  process.stdout.write(`\n${table}\n\n`);
  process.stdout.write(
    [
      `Gateway settings: ${settingsLine}.`,
      `Load: autocannon, ${settings.connections} connections, ${settings.durationSeconds} s measured after ${settings.warmupSeconds} s warm-up, one target at a time, 127.0.0.1.`,
      `Start-to-ready: spawn to first 200 on /health/live (fresh database, migrations included); /health/ready after ${results.gateway.startToHealthReadyMs} ms.`,
      `CPU during the gateway run: gateway ${g.cpu.gatewayCorePct} % of a core, load generator ${g.cpu.loadGeneratorCorePct} %, machine ${g.cpu.machineBusyPct} % busy (${os.cpus().length} cores).`,
      `CPU during the bare run:    bare ${b.cpu.bareCorePct} % of a core, load generator ${b.cpu.loadGeneratorCorePct} %, machine ${b.cpu.machineBusyPct} % busy.`,
      `Gateway RSS: idle ${idleRssMb} MB, after load ${results.gateway.rssAfterLoadMb} MB (peak ${results.gateway.peakRssMb} MB); ` +
        `during the run (1/s): ${g.rssMb.join(', ')}.`,
      `Gateway runtime (GET /metrics) before the warm-up -> after the measured run: heap used ${metricsBefore.heapUsedMb} -> ${metricsAfter.heapUsedMb} MB, ` +
        `heap total ${metricsBefore.heapTotalMb} -> ${metricsAfter.heapTotalMb} MB, external ${metricsBefore.externalMb} -> ${metricsAfter.externalMb} MB, ` +
        `GC ${round((metricsAfter.gcSeconds ?? 0) - (metricsBefore.gcSeconds ?? 0), 2)} s in ${(metricsAfter.gcCount ?? 0) - (metricsBefore.gcCount ?? 0)} collections ` +
        `(${Object.entries(metricsAfter.gcSecondsByKind ?? {})
          .map(([k, v]) => `${k} ${round(v - (metricsBefore.gcSecondsByKind?.[k] ?? 0), 2)} s`)
          .join(', ')}), ` +
        `event-loop lag p99 ${metricsAfter.eventLoopLagP99Ms} ms.`,
      `Status codes: gateway ${JSON.stringify(g.load.statusCodes)}, bare ${JSON.stringify(b.load.statusCodes)}; bodies identical: ${bodiesMatch}.`,
      `Gateway log lines (warn and above) during the run: ${gatewayLog.lines}${gatewayLog.samples.length ? `, e.g. ${gatewayLog.samples.join(' | ')}` : ''}.`,
    ].join('\n') + '\n',
  );
  for (const [name, p] of Object.entries(results.cpuProfiles ?? {})) {
    if (!p.topFunctions) {
      process.stdout.write(`\n${name} CPU profile: ${p.error}\n`);
      continue;
    }
    process.stdout.write(
      `\n${name} CPU profile (${p.windowed ? 'measured load window' : 'whole process'}: ${p.busyMs} ms busy of ${p.wallMs} ms, ` +
        `idle ${p.idlePct} %, ${p.busyUsPerRequest} µs busy per request):\n` +
        `  by package (self time, % of busy / µs per request): ` +
        `${p.topPackages.map((x) => `${x.name} ${x.pctOfBusy} % / ${x.usPerRequest}`).join(', ')}\n` +
        p.topFunctions
          .slice(0, 20)
          .map(
            (x) =>
              `  ${String(x.pctOfBusy).padStart(5)} %  ${String(x.usPerRequest).padStart(6)} µs/req  ${x.name}`,
          )
          .join('\n') +
        '\n',
    );
  }

  clearTimeout(watchdog);
  const problems = await runCleanup();
  results.cleanup = { ...cleanupReport, problems };
  say(
    `cleaned up: processes stopped, database dropped: ${cleanupReport.databaseDropped}, ` +
      `Redis keys deleted: ${cleanupReport.redis?.deleted} (remaining ${cleanupReport.redis?.remaining})`,
  );
  const file = writeResults(RESULTS_DIR, stamp, results);
  say(`results written to ${file}`);
  const failed = Object.values(results.targets).some((t) => t.pass === false);
  return settings.failOnTarget && failed ? 3 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`\nbenchmark failed: ${errorMessage(err)}\n`);
    runCleanup().finally(() => process.exit(1));
  },
);
