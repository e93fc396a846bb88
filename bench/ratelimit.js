#!/usr/bin/env node
'use strict';
// What the rate limiter costs: GET /v2/users/{userId} through the compiled gateway with the
// limiter on and off, side by side in one run (see bench/README.md, "Rate limiter"). Two gateway
// processes on one database and Redis prefix, identical but for RATE_LIMIT_ENABLED, loaded one at
// a time in the order on, off, off, on, ... so that drift of the machine falls on both alike.
// The caller is the bootstrap admin (enterprise tier) with the enterprise limits raised so that
// nothing is refused: every request pays the full price (EVALSHA, headers, release), none is
// cut short by a 429. Needs `npx nest build` first; PostgreSQL and Redis on 127.0.0.1.
const { randomBytes } = require('node:crypto');
const { existsSync, mkdirSync, readdirSync } = require('node:fs');
const os = require('node:os');
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');
const Redis = require('ioredis');
const { GATEWAY_NODE_FLAGS } = require('../scripts/node-flags');
const { installHandlers, onCleanup, runCleanup } = require('./lib/cleanup');
const { summarizeCpuProfile } = require('./lib/cpu-profile');
const { runLoad, stopCurrentLoad } = require('./lib/load');
const { ChildApp, killAllNow } = require('./lib/processes');
const { pct, writeResults } = require('./lib/report');
const { createDatabase, databaseExists, deleteRedisPrefix, dropDatabase } = require('./lib/resources');
const { cpuMeter, freePort, gitDescribe, request, round, sleep } = require('./lib/util');

const ROOT = join(__dirname, '..');
const RESULTS_DIR = join(__dirname, 'results');
/** The limiter may cost at most this share of the throughput. */
const MAX_COST_PCT = 15;

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
  if (!['127.0.0.1', 'localhost'].includes(new URL(raw).hostname))
    throw new Error(`${name} must point at 127.0.0.1`);
  return raw.replace(/\/$/, '');
}

const settings = {
  // Many short rounds rather than a few long ones: on a shared 2-core machine the throughput drifts
  // by +-10 % over seconds, and the median of 20 ratios of neighbouring runs moves far less than
  // that of 4 (measured: 4 rounds of 10 s gave 12.9 %, 16.4 % and 18.9 % for one build).
  durationSeconds: intEnv('BENCH_DURATION', 4, 1, 600),
  warmupSeconds: intEnv('BENCH_WARMUP', 1, 0, 60),
  connections: intEnv('BENCH_CONNECTIONS', 50, 1, 1000),
  /** Each round measures both gateways once; the order alternates (on off, off on, ...). */
  rounds: intEnv('BENCH_ROUNDS', 20, 1, 50),
  startTimeoutMs: intEnv('BENCH_START_TIMEOUT_MS', 30000, 1000, 300000),
  failOnTarget: /^(1|true|yes)$/i.test(process.env.BENCH_FAIL_ON_TARGET ?? ''),
  cpuProfile: /^(1|true|yes)$/i.test(process.env.BENCH_CPU_PROF ?? ''),
  /** Gateways on CPU 0, this process (autocannon) on CPU 1; Redis and PostgreSQL where the OS puts them. */
  pin: /^(1|true|yes)$/i.test(process.env.BENCH_PIN ?? ''),
  pgBase: loopbackUrl('BENCH_PG_URL', 'postgres://postgres@127.0.0.1:5432'),
  redisUrl: loopbackUrl('BENCH_REDIS_URL', 'redis://127.0.0.1:6379'),
};

const say = (msg) => process.stdout.write(`[bench:ratelimit] ${msg}\n`);
const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
const median = (xs) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** The pid of the Redis server (its CPU is part of the limiter's cost); null when it will not say. */
async function redisPid(url) {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3000 });
  try {
    await redis.connect();
    const m = /^process_id:(\d+)/m.exec(await redis.info('server'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  } finally {
    redis.disconnect();
  }
}

async function main() {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const tag = randomBytes(4).toString('hex');
  const dbName = `cocode_bench_${tag}`;
  const redisPrefix = `cocode_bench:${tag}`;
  const logFile = (name) => join(RESULTS_DIR, `${stamp}-ratelimit-${name}.log`);
  const profileDir = (name) => join(RESULTS_DIR, `${stamp}-ratelimit-cpuprofile`, name);
  const gatewayScript = join(ROOT, 'dist', 'apps', 'gateway', 'src', 'main.js');
  if (!existsSync(gatewayScript)) throw new Error(`${gatewayScript} is missing: run "npx nest build" first`);
  mkdirSync(RESULTS_DIR, { recursive: true });

  installHandlers(killAllNow);
  const budgetMs =
    2 * settings.startTimeoutMs +
    2 * settings.rounds * (settings.durationSeconds + settings.warmupSeconds + 5) * 1000 +
    60000;
  const watchdog = setTimeout(() => {
    process.stderr.write(`\nbenchmark exceeded its ${budgetMs} ms budget: stopping\n`);
    runCleanup().finally(() => process.exit(1));
  }, budgetMs);

  say(`database ${dbName}, Redis prefix ${redisPrefix}, logs in ${RESULTS_DIR}/${stamp}-ratelimit-*.log`);
  const cleanupReport = {};
  onCleanup('Redis keys', async () => {
    cleanupReport.redis = await deleteRedisPrefix(settings.redisUrl, redisPrefix);
  });
  await createDatabase(settings.pgBase, dbName);
  onCleanup('database', async () => {
    await dropDatabase(settings.pgBase, dbName);
    cleanupReport.databaseDropped = !(await databaseExists(settings.pgBase, dbName));
  });

  const admin = {
    username: 'bench_admin',
    password: `Bench${randomBytes(6).toString('hex')}A1`,
    clientId: 'bench_client',
    clientSecret: randomBytes(24).toString('base64url'),
  };
  // Both gateways: the defaults except LOG_LEVEL=warn, one database, one Redis prefix, one JWT
  // secret (a token of one is valid at the other), and enterprise limits nothing here reaches.
  const common = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    DATABASE_URL: `${settings.pgBase}/${dbName}`,
    REDIS_URL: settings.redisUrl,
    REDIS_PREFIX: redisPrefix,
    JWT_SECRET: randomBytes(36).toString('base64url'),
    SECRETS_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    BOOTSTRAP_ADMIN_USERNAME: admin.username,
    BOOTSTRAP_ADMIN_EMAIL: 'bench_admin@example.com',
    BOOTSTRAP_ADMIN_PASSWORD: admin.password,
    BOOTSTRAP_CLIENT_ID: admin.clientId,
    BOOTSTRAP_CLIENT_SECRET: admin.clientSecret,
    LOG_LEVEL: 'warn',
    RATE_LIMIT_ENTERPRISE_PER_MINUTE: '1000000000',
    RATE_LIMIT_ENTERPRISE_PER_HOUR: '1000000000',
    RATE_LIMIT_ENTERPRISE_CONCURRENT: '1000000',
  };
  const variants = {};
  for (const [name, enabled] of [
    ['on', 'true'],
    ['off', 'false'],
  ]) {
    const port = await freePort();
    variants[name] = {
      name,
      port,
      app: new ChildApp(`gateway-${name}`, gatewayScript, {
        env: {
          ...common,
          PORT: String(port),
          WORKER_PORT: String(await freePort()),
          RATE_LIMIT_ENABLED: enabled,
        },
        port,
        logFile: logFile(name),
        execArgv: [
          ...GATEWAY_NODE_FLAGS,
          ...(settings.cpuProfile
            ? [
                '--cpu-prof',
                `--cpu-prof-dir=${profileDir(name)}`,
                '-r',
                join(__dirname, 'lib', 'exit-on-sigusr2.js'),
              ]
            : []),
        ],
      }),
      phases: [],
    };
  }
  onCleanup('processes', async () => {
    await Promise.all(Object.values(variants).map((v) => v.app.stop()));
  });
  onCleanup('load', async () => stopCurrentLoad());

  // The first one migrates the fresh database and bootstraps the admin; the second finds both done.
  for (const v of Object.values(variants)) {
    v.app.start();
    await v.app.waitFor('/health/ready', settings.startTimeoutMs);
    say(`gateway with the limiter ${v.name} ready on port ${v.port}`);
  }
  if (settings.pin) {
    if (os.cpus().length < 2) throw new Error('BENCH_PIN needs at least 2 CPUs');
    const pin = (pid, cpu) =>
      execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
    for (const v of Object.values(variants)) pin(v.app.pid, 0);
    pin(process.pid, 1);
    say('pinned: both gateways on CPU 0, the load generator on CPU 1 (taskset)');
  }

  const tokenRes = await request(variants.on.port, 'POST', '/v2/auth/token', {
    body: {
      grant_type: 'password',
      username: admin.username,
      password: admin.password,
      client_id: admin.clientId,
      client_secret: admin.clientSecret,
    },
  });
  if (tokenRes.status !== 200) throw new Error(`token request failed: ${tokenRes.status} ${tokenRes.text}`);
  const auth = { authorization: `Bearer ${tokenRes.json.access_token}` };
  const created = await request(variants.on.port, 'POST', '/v2/users', {
    headers: auth,
    body: {
      username: `bench_${tag}`,
      email: `bench_${tag}@example.com`,
      password: `Passw0rd${tag}`,
      fullName: 'Bench Reader',
    },
  });
  if (created.status !== 201) throw new Error(`user creation failed: ${created.status} ${created.text}`);
  const path = `/v2/users/${encodeURIComponent(created.json.id)}`;

  // Both answer the same body; only the limiter's answers carry its headers.
  const check = {};
  for (const v of Object.values(variants)) {
    const res = await request(v.port, 'GET', path, { headers: auth });
    if (res.status !== 200)
      throw new Error(`GET ${path} (limiter ${v.name}) answered ${res.status}: ${res.text}`);
    check[v.name] = {
      body: res.text,
      headers: Object.fromEntries(
        Object.entries(res.headers).filter(([k]) => /^(x-ratelimit-|ratelimit)/.test(k)),
      ),
    };
  }
  if (check.on.body !== check.off.body) throw new Error('the two gateways answered different bodies');
  if (!check.on.headers['x-ratelimit-limit'] || Object.keys(check.off.headers).length)
    throw new Error(`unexpected rate-limit headers: ${JSON.stringify(check)}`);
  say(`GET ${path}: limiter on answers ${JSON.stringify(check.on.headers)}; off answers none`);

  const redis = await redisPid(settings.redisUrl);
  const order = [];
  for (let round_ = 0; round_ < settings.rounds; round_++)
    order.push(...(round_ % 2 === 0 ? ['on', 'off'] : ['off', 'on']));
  for (const name of order) {
    const v = variants[name];
    const load = (title, durationSeconds) =>
      runLoad({
        title,
        port: v.port,
        path,
        headers: auth,
        connections: settings.connections,
        durationSeconds,
      });
    if (settings.warmupSeconds > 0) await load(`limiter ${name} warm-up`, settings.warmupSeconds);
    const meter = cpuMeter({ gateway: v.app.pid, ...(redis ? { redis } : {}), loadGenerator: process.pid });
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    const result = await load(`limiter ${name}`, settings.durationSeconds);
    const window = { fromUs, toUs: Number(process.hrtime.bigint() / 1000n) };
    const cpu = meter();
    if (!v.app.running) throw new Error(`the gateway (limiter ${name}) died:\n${v.app.logTail()}`);
    v.phases.push({ load: result, cpu, window });
    say(
      `limiter ${name}: ${result.rps} req/s, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, ` +
        `${result.non2xx} non-2xx, ${result.errors} errors; CPU gateway ${cpu.gatewayCorePct} %, ` +
        `Redis ${cpu.redisCorePct ?? 'n/a'} %, machine ${cpu.machineBusyPct} %`,
    );
    await sleep(500);
  }

  // Profiled runs (BENCH_CPU_PROF=1): where each gateway's time went in its last measured run.
  const profiles = {};
  if (settings.cpuProfile) {
    await Promise.all(Object.values(variants).map((v) => v.app.stop('SIGUSR2', 15000)));
    for (const v of Object.values(variants)) {
      const dir = profileDir(v.name);
      const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : [];
      const last = v.phases[v.phases.length - 1];
      profiles[v.name] = files.length
        ? summarizeCpuProfile(join(dir, files[0]), last.window, 25, last.load.totalRequests)
        : { error: `no .cpuprofile in ${dir}` };
    }
  }

  const summary = {};
  for (const v of Object.values(variants)) {
    const loads = v.phases.map((p) => p.load);
    const avg = (f) => round(mean(loads.map(f)), 1);
    summary[v.name] = {
      rps: avg((l) => l.rps),
      rpsPerRound: loads.map((l) => l.rps),
      p50: avg((l) => l.latencyMs.p50),
      p99: avg((l) => l.latencyMs.p99),
      non2xx: loads.reduce((a, l) => a + l.non2xx, 0),
      errors: loads.reduce((a, l) => a + l.errors + l.timeouts, 0),
      gatewayCpuPct: round(mean(v.phases.map((p) => p.cpu.gatewayCorePct ?? 0)), 0),
      redisCpuPct: redis ? round(mean(v.phases.map((p) => p.cpu.redisCorePct ?? 0)), 0) : null,
      machineBusyPct: round(mean(v.phases.map((p) => p.cpu.machineBusyPct ?? 0)), 0),
    };
  }
  const on = summary.on;
  const off = summary.off;
  const ratioPct = pct(on.rps, off.rps);
  // Each round measured the two one after the other: its ratio is the least disturbed by what else
  // the machine did, and the median of the rounds' ratios ignores a round that a burst hit.
  const roundRatios = on.rpsPerRound.map((r, i) => pct(r, off.rpsPerRound[i]));
  const medianRatioPct = round(median(roundRatios), 1);
  const costPct = medianRatioPct === null ? null : round(100 - medianRatioPct, 1);
  const pass = costPct === null ? null : costPct <= MAX_COST_PCT;
  const usPerRequest = (s) => (s.rps ? round((s.gatewayCpuPct / 100 / s.rps) * 1e6, 1) : null);
  const cpuDelta = round(usPerRequest(on) - usPerRequest(off), 1);
  const rows = [
    ['Metric', 'Limiter on', 'Limiter off', 'On / off', 'Target', 'Result'],
    ['---', '--:', '--:', '--:', '---', '---'],
    ['Requests/s (mean of the rounds)', on.rps, off.rps, `${ratioPct} %`, '', ''],
    [
      'Requests/s per round',
      on.rpsPerRound.join(' / '),
      off.rpsPerRound.join(' / '),
      roundRatios.map((r) => `${r} %`).join(' / '),
      '',
      '',
    ],
    [
      'Limiter cost (median of the rounds)',
      '',
      '',
      `${medianRatioPct} %`,
      `costs <= ${MAX_COST_PCT} % (on >= ${100 - MAX_COST_PCT} % of off)`,
      pass === null ? 'n/a' : pass ? `PASS (costs ${costPct} %)` : `FAIL (costs ${costPct} %)`,
    ],
    ['Latency p50 (ms)', on.p50, off.p50, '', '', ''],
    ['Latency p99 (ms)', on.p99, off.p99, '', '', ''],
    ['Gateway CPU (% of a core)', on.gatewayCpuPct, off.gatewayCpuPct, '', '', ''],
    [
      'Gateway CPU per request (µs)',
      usPerRequest(on),
      usPerRequest(off),
      `${cpuDelta >= 0 ? '+' : ''}${cpuDelta} µs`,
      '',
      '',
    ],
    ['Redis CPU (% of a core)', on.redisCpuPct ?? 'n/a', off.redisCpuPct ?? 'n/a', '', '', ''],
    ['Machine busy (% of all cores)', on.machineBusyPct, off.machineBusyPct, '', '', ''],
    ['Non-2xx responses', on.non2xx, off.non2xx, '', '', ''],
    ['Errors / timeouts', on.errors, off.errors, '', '', ''],
  ];
  const table = rows.map((cells) => `| ${cells.join(' | ')} |`).join('\n');
  process.stdout.write(`\n${table}\n\n`);
  process.stdout.write(
    `Load: autocannon, ${settings.connections} connections, ${settings.rounds} round(s) of ` +
      `${settings.durationSeconds} s per gateway after ${settings.warmupSeconds} s warm-up each, order ${order.join(', ')}` +
      `${settings.pin ? ', gateways pinned to CPU 0 and the load generator to CPU 1' : ', no CPU pinning'}; ` +
      `${os.cpus().length} cores, load average at the end ${os
        .loadavg()
        .map((n) => round(n, 2))
        .join(' ')}.\n`,
  );

  for (const [name, p] of Object.entries(profiles)) {
    if (!p.topFunctions) {
      process.stdout.write(`limiter ${name} CPU profile: ${p.error}\n`);
      continue;
    }
    process.stdout.write(
      `\nlimiter ${name} CPU profile (last measured run: ${p.busyUsPerRequest} µs busy per request; ` +
        `self time by package, µs per request): ${p.topPackages.map((x) => `${x.name} ${x.usPerRequest}`).join(', ')}\n` +
        p.topFunctions
          .slice(0, 25)
          .map((x) => `  ${String(x.usPerRequest).padStart(6)} µs/req  ${x.name}`)
          .join('\n') +
        '\n',
    );
  }

  clearTimeout(watchdog);
  const problems = await runCleanup();
  say(
    `cleaned up: processes stopped, database dropped: ${cleanupReport.databaseDropped}, ` +
      `Redis keys deleted: ${cleanupReport.redis?.deleted} (remaining ${cleanupReport.redis?.remaining})`,
  );
  const file = writeResults(RESULTS_DIR, `${stamp}-ratelimit`, {
    timestamp: new Date().toISOString(),
    commit: gitDescribe(ROOT),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? null,
      memoryMb: Math.round(os.totalmem() / 2 ** 20),
      node: process.version,
    },
    settings,
    endpoint: `GET ${path} as the bootstrap admin (enterprise tier, limits raised)`,
    responseCheck: check,
    order,
    summary,
    onOffRatioPct: ratioPct,
    roundRatiosPct: roundRatios,
    medianRoundRatioPct: medianRatioPct,
    limiterCostPct: costPct,
    gatewayCpuPerRequestDeltaUs: cpuDelta,
    target: { maxCostPct: MAX_COST_PCT, pass },
    phases: Object.fromEntries(Object.values(variants).map((v) => [v.name, v.phases])),
    cpuProfiles: settings.cpuProfile ? profiles : undefined,
    table,
    cleanup: { ...cleanupReport, problems },
  });
  say(`results written to ${file}`);
  return settings.failOnTarget && pass === false ? 3 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`\nbenchmark failed: ${err instanceof Error ? err.message : String(err)}\n`);
    runCleanup().finally(() => process.exit(1));
  },
);
