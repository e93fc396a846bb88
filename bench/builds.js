#!/usr/bin/env node
'use strict';
// Build benchmark: what the platform adds to a trivial build. Times trigger -> `success` of a
// two-stage pipeline over a local git repository (POST /trigger, then GET /builds/{id} every
// BENCH_POLL_MS until it ends), and the same work done directly in a shell: the same git clone +
// checkout and the same commands. Needs `npx nest build` first; PostgreSQL and Redis on 127.0.0.1.
const { execFileSync, execFile } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } = require('node:fs');
const os = require('node:os');
const { join } = require('node:path');
const { Client } = require('pg');
const { installHandlers, onCleanup, runCleanup } = require('./lib/cleanup');
const { ChildApp, killAllNow } = require('./lib/processes');
const { writeResults } = require('./lib/report');
const { createDatabase, databaseExists, deleteRedisPrefix, dropDatabase } = require('./lib/resources');
const { freePort, gitDescribe, request, round, sleep } = require('./lib/util');

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

const settings = {
  builds: intEnv('BENCH_BUILDS', 20, 1, 1000),
  warmupBuilds: intEnv('BENCH_WARMUP_BUILDS', 3, 0, 100),
  pollMs: intEnv('BENCH_POLL_MS', 10, 1, 1000),
  buildTimeoutMs: intEnv('BENCH_BUILD_TIMEOUT_MS', 30000, 1000, 600000),
  startTimeoutMs: intEnv('BENCH_START_TIMEOUT_MS', 30000, 1000, 300000),
  pgBase: loopbackUrl('BENCH_PG_URL', 'postgres://postgres@127.0.0.1:5432'),
  redisUrl: loopbackUrl('BENCH_REDIS_URL', 'redis://127.0.0.1:6379'),
};

/** The trivial build: two stages of one command each. */
const STAGES = [
  { name: 'build', commands: ['echo "building $(cat VERSION)"'] },
  { name: 'test', commands: ['test -f README.md && echo tested'] },
];

const say = (msg) => process.stdout.write(`[bench:builds] ${msg}\n`);

function percentile(values, p) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function stats(values) {
  return {
    n: values.length,
    p50: round(percentile(values, 50), 1),
    p90: round(percentile(values, 90), 1),
    min: round(values.length ? Math.min(...values) : null, 1),
    max: round(values.length ? Math.max(...values) : null, 1),
  };
}

function shell(script, cwd) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    execFile(
      '/bin/sh',
      ['-c', script],
      { cwd, env: { PATH: process.env.PATH, HOME: cwd } },
      (err, stdout) => {
        if (err) return reject(err);
        resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, stdout });
      },
    );
  });
}

function makeRepo(dir) {
  mkdirSync(dir, { recursive: true });
  const git = (...args) =>
    execFileSync('git', ['-c', 'user.name=Bench', '-c', 'user.email=bench@example.com', ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir, GIT_CONFIG_NOSYSTEM: '1' },
      stdio: 'pipe',
    });
  git('init', '--quiet', '--initial-branch=main');
  writeFileSync(join(dir, 'README.md'), '# bench\n');
  writeFileSync(join(dir, 'VERSION'), '1.0.0\n');
  git('add', '--all');
  git('commit', '--quiet', '-m', 'bench');
}

async function main() {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const tag = randomBytes(4).toString('hex');
  const dbName = `cocode_bench_builds_${tag}`;
  const redisPrefix = `cocode_bench:${tag}`;
  const gatewayScript = join(ROOT, 'dist', 'apps', 'gateway', 'src', 'main.js');
  const workerScript = join(ROOT, 'dist', 'apps', 'worker', 'src', 'main.js');
  for (const f of [gatewayScript, workerScript]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: run "npx nest build" first`);
  }
  mkdirSync(RESULTS_DIR, { recursive: true });
  installHandlers(killAllNow);
  const budgetMs =
    3 * settings.startTimeoutMs + (settings.builds * 2 + settings.warmupBuilds) * settings.buildTimeoutMs;
  const watchdog = setTimeout(() => {
    process.stderr.write(`\nbenchmark exceeded its ${budgetMs} ms budget: stopping\n`);
    runCleanup().finally(() => process.exit(1));
  }, budgetMs);

  const tmp = mkdtempSync(join(os.tmpdir(), 'cocode-bench-builds-'));
  onCleanup('temporary directory', async () => rmSync(tmp, { recursive: true, force: true }));
  const repoDir = join(tmp, 'repo');
  makeRepo(repoDir);
  const repoUrl = `file://${repoDir}`;

  onCleanup('Redis keys', async () => deleteRedisPrefix(settings.redisUrl, redisPrefix));
  await createDatabase(settings.pgBase, dbName);
  onCleanup('database', async () => {
    await dropDatabase(settings.pgBase, dbName);
    if (await databaseExists(settings.pgBase, dbName)) throw new Error(`${dbName} is still there`);
  });
  say(`database ${dbName}, Redis prefix ${redisPrefix}, workspaces in ${tmp}`);

  const [gatewayPort, workerPort] = [await freePort(), await freePort()];
  const adminPassword = `Bench${randomBytes(6).toString('hex')}A1`;
  const clientSecret = randomBytes(24).toString('base64url');
  const env = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(gatewayPort),
    WORKER_PORT: String(workerPort),
    DATABASE_URL: `${settings.pgBase}/${dbName}`,
    REDIS_URL: settings.redisUrl,
    REDIS_PREFIX: redisPrefix,
    JWT_SECRET: randomBytes(36).toString('base64url'),
    BOOTSTRAP_ADMIN_USERNAME: 'bench_admin',
    BOOTSTRAP_ADMIN_EMAIL: 'bench_admin@example.com',
    BOOTSTRAP_ADMIN_PASSWORD: adminPassword,
    BOOTSTRAP_CLIENT_ID: 'bench_client',
    BOOTSTRAP_CLIENT_SECRET: clientSecret,
    LOG_LEVEL: 'warn',
    RATE_LIMIT_ENABLED: 'false',
    WORKSPACES_ROOT: join(tmp, 'workspaces'),
    ARTIFACTS_ROOT: join(tmp, 'artifacts'),
  };
  const gateway = new ChildApp('gateway', gatewayScript, {
    env,
    port: gatewayPort,
    logFile: join(RESULTS_DIR, `${stamp}-builds-gateway.log`),
  });
  const worker = new ChildApp('worker', workerScript, {
    env,
    port: workerPort,
    logFile: join(RESULTS_DIR, `${stamp}-builds-worker.log`),
  });
  onCleanup('processes', async () => Promise.all([gateway.stop(), worker.stop()]));
  say('starting the gateway (migrations) and then the worker');
  gateway.start();
  await gateway.waitFor('/health/ready', settings.startTimeoutMs);
  worker.start();
  await worker.waitFor('/health/ready', settings.startTimeoutMs);

  const tokenRes = await request(gatewayPort, 'POST', '/v2/auth/token', {
    body: {
      grant_type: 'password',
      username: 'bench_admin',
      password: adminPassword,
      client_id: 'bench_client',
      client_secret: clientSecret,
    },
  });
  if (tokenRes.status !== 200) throw new Error(`token request failed: ${tokenRes.status} ${tokenRes.text}`);
  const headers = { authorization: `Bearer ${tokenRes.json.access_token}` };
  const me = await request(gatewayPort, 'GET', '/v2/users/me', { headers });
  const project = await request(gatewayPort, 'POST', '/v2/projects', {
    headers,
    body: { name: 'Bench', key: 'BENCH', ownerId: me.json.id },
  });
  if (project.status !== 201) throw new Error(`project creation failed: ${project.status} ${project.text}`);
  const pipeline = await request(gatewayPort, 'POST', '/v2/pipelines', {
    headers,
    body: { projectId: project.json.id, name: 'trivial', repositoryUrl: repoUrl, stages: STAGES },
  });
  if (pipeline.status !== 201)
    throw new Error(`pipeline creation failed: ${pipeline.status} ${pipeline.text}`);

  const pg = new Client({ connectionString: env.DATABASE_URL });
  await pg.connect();
  onCleanup('pg client', async () => pg.end());

  /** One build: trigger, then poll until it ends. Returns the client's and the server's timings. */
  async function platformBuild() {
    const started = process.hrtime.bigint();
    const trig = await request(gatewayPort, 'POST', `/v2/pipelines/${pipeline.json.id}/trigger`, {
      headers,
      body: {},
    });
    if (trig.status !== 202) throw new Error(`trigger failed: ${trig.status} ${trig.text}`);
    const triggerMs = Number(process.hrtime.bigint() - started) / 1e6;
    const deadline = Date.now() + settings.buildTimeoutMs;
    for (;;) {
      const res = await request(gatewayPort, 'GET', `/v2/builds/${trig.json.buildId}`, { headers });
      if (['success', 'failed', 'cancelled'].includes(res.json?.status)) {
        const totalMs = Number(process.hrtime.bigint() - started) / 1e6;
        if (res.json.status !== 'success')
          throw new Error(`build ${res.json.buildId} ${res.json.status}: ${res.json.error}`);
        const { rows } = await pg.query(
          `SELECT extract(epoch FROM started_at - created_at) * 1000 AS queued,
                  extract(epoch FROM finished_at - started_at) * 1000 AS running,
                  stages FROM builds WHERE id = $1`,
          [res.json.buildId],
        );
        const stageMs = Object.fromEntries(rows[0].stages.map((s) => [s.name, s.durationMs]));
        return {
          totalMs,
          triggerMs,
          queuedMs: Number(rows[0].queued),
          runningMs: Number(rows[0].running),
          stageMs,
        };
      }
      if (Date.now() > deadline) throw new Error(`build ${trig.json.buildId} did not end in time`);
      await sleep(settings.pollMs);
    }
  }

  /** The same work straight in a shell: clone + detached checkout, then the stage commands. */
  async function shellBuild(withCheckout) {
    const dir = join(tmp, `shell-${randomBytes(4).toString('hex')}`);
    mkdirSync(dir);
    const commands = STAGES.flatMap((s) => s.commands).join(' && ');
    const script = withCheckout
      ? `git clone --no-checkout --quiet -- ${repoUrl} src && cd src && git checkout --quiet --detach origin/main -- && git rev-parse HEAD >/dev/null && ${commands}`
      : `cp ${repoDir}/README.md ${repoDir}/VERSION . && ${commands}`;
    try {
      return (await shell(script, dir)).ms;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  say(`warm-up: ${settings.warmupBuilds} builds`);
  for (let i = 0; i < settings.warmupBuilds; i++) await platformBuild();
  say(`measuring ${settings.builds} builds, one after the other`);
  const platform = [];
  for (let i = 0; i < settings.builds; i++) platform.push(await platformBuild());
  const shellFull = [];
  const shellCommands = [];
  for (let i = 0; i < settings.warmupBuilds; i++) await shellBuild(true);
  for (let i = 0; i < settings.builds; i++) shellFull.push(await shellBuild(true));
  for (let i = 0; i < settings.builds; i++) shellCommands.push(await shellBuild(false));

  const results = {
    timestamp: new Date().toISOString(),
    commit: gitDescribe(ROOT),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? null,
      loadAvgAtStart: os.loadavg().map((n) => round(n, 2)),
      node: process.version,
      git: execFileSync('git', ['--version'], { encoding: 'utf8' }).trim(),
    },
    settings,
    stages: STAGES,
    platform: {
      triggerToSuccess: stats(platform.map((p) => p.totalMs)),
      triggerRequest: stats(platform.map((p) => p.triggerMs)),
      queued: stats(platform.map((p) => p.queuedMs)),
      running: stats(platform.map((p) => p.runningMs)),
      checkoutStage: stats(platform.map((p) => p.stageMs.checkout)),
      buildStage: stats(platform.map((p) => p.stageMs.build)),
      testStage: stats(platform.map((p) => p.stageMs.test)),
    },
    shell: { cloneCheckoutAndCommands: stats(shellFull), commandsOnly: stats(shellCommands) },
  };
  const p = results.platform;
  const s = results.shell;
  results.overheadP50Ms = round(p.triggerToSuccess.p50 - s.cloneCheckoutAndCommands.p50, 1);
  const row = (label, st) => `| ${label} | ${st.p50} | ${st.p90} | ${st.min} | ${st.max} |`;
  const table = [
    `| Trivial build (${settings.builds} runs) | p50 ms | p90 ms | min ms | max ms |`,
    '| --- | --: | --: | --: | --: |',
    row(`Platform: trigger → success (polling every ${settings.pollMs} ms)`, p.triggerToSuccess),
    row('  · POST /trigger answered (202)', p.triggerRequest),
    row('  · queued: trigger commit → worker claim', p.queued),
    row('  · running: claim → success committed', p.running),
    row('    · checkout stage (git clone + checkout)', p.checkoutStage),
    row('    · build stage (1 command)', p.buildStage),
    row('    · test stage (1 command)', p.testStage),
    row('Shell: same git clone + checkout + commands', s.cloneCheckoutAndCommands),
    row('Shell: the commands only', s.commandsOnly),
    `| **Platform overhead (p50 platform − p50 shell with checkout)** | **${results.overheadP50Ms}** | | | |`,
  ].join('\n');
  results.table = table;
  const file = writeResults(RESULTS_DIR, `${stamp}-builds`, results);
  process.stdout.write(`\n${table}\n\nresults: ${file}\n`);
  clearTimeout(watchdog);
}

main()
  .then(() => runCleanup())
  .then((problems) => process.exit(problems.length ? 1 : 0))
  .catch((err) => {
    process.stderr.write(`\nbenchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : err}\n`);
    runCleanup().finally(() => process.exit(1));
  });
