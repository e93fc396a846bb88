'use strict';
// Starts the system under test the same way for every scenario: a fresh database and Redis
// prefix, the compiled gateway (timed to ready) and worker, the idle RSS, an admin token, and a
// baseline server (created here, started by the scenario when it needs it). Every step
// registers its undo with lib/cleanup.js first.
const { randomBytes } = require('node:crypto');
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { GATEWAY_NODE_FLAGS } = require('../../scripts/node-flags');
const { onCleanup } = require('./cleanup');
const { redactEnv } = require('./config');
const { stopCurrentLoad } = require('./load');
const { METRICS_TOKEN } = require('./gateway');
const { ChildApp } = require('./processes');
const { createDatabase, databaseExists, deleteRedisPrefix, dropDatabase } = require('./resources');
const { freePort, readMemoryKb, request, round, sleep } = require('./util');

const ROOT = join(__dirname, '..', '..');
const GATEWAY_SCRIPT = join(ROOT, 'dist', 'apps', 'gateway', 'src', 'main.js');
const WORKER_SCRIPT = join(ROOT, 'dist', 'apps', 'worker', 'src', 'main.js');

/** Throws when the compiled apps are missing; returns their paths. */
function requireBuild() {
  for (const f of [GATEWAY_SCRIPT, WORKER_SCRIPT]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: run "npx nest build" first`);
  }
  return { gatewayScript: GATEWAY_SCRIPT, workerScript: WORKER_SCRIPT };
}

/** node --cpu-prof arguments for a child when BENCH_CPU_PROF=1 (profiles go to profileDir/name). */
function profileArgs(settings, profileDir, name) {
  return settings.cpuProfile
    ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, name)}`, '-r', join(__dirname, 'exit-on-sigusr2.js')]
    : [];
}

/** POST /v2/auth/token with the password grant; returns the access token. */
async function fetchToken(port, { username, password, clientId, clientSecret }) {
  const res = await request(port, 'POST', '/v2/auth/token', {
    body: {
      grant_type: 'password',
      username,
      password,
      client_id: clientId,
      client_secret: clientSecret,
    },
  });
  if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${res.text}`);
  return res.json.access_token;
}

/**
 * @param {object} o
 *   settings    readSettings()
 *   tag         random hex: names the database cocode_bench_<tag> and the Redis prefix
 *   resultsDir  where the logs and profiles go
 *   filePrefix  names them: <filePrefix>-{gateway,worker,bare}.log, <filePrefix>-cpuprofile/
 *   say         progress printer
 *   bareScript  the baseline server (a child process on its own port)
 *   bareEnv     extra environment for it (besides PATH, NODE_ENV, BARE_PORT, DATABASE_URL)
 *   appEnvDefaults      the scenario's own settings for the gateway and worker (BENCH_GATEWAY_ENV
 *                       still overrides them), described in the settings line by appEnvDefaultsNote
 * @returns everything a scenario needs: the three ChildApps, ports, auth header, start-up numbers
 */
async function startSystem({
  settings,
  tag,
  resultsDir,
  filePrefix,
  say,
  bareScript,
  bareEnv = {},
  appEnvDefaults = {},
  appEnvDefaultsNote = null,
}) {
  const { gatewayScript, workerScript } = requireBuild();
  const dbName = `cocode_bench_${tag}`;
  const redisPrefix = `cocode_bench:${tag}`;
  const logFile = (name) => join(resultsDir, `${filePrefix}-${name}.log`);
  const profileDir = join(resultsDir, `${filePrefix}-cpuprofile`);
  say(`database ${dbName}, Redis prefix ${redisPrefix}, logs in ${resultsDir}/${filePrefix}-*.log`);

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
  const admin = {
    username: 'bench_admin',
    password: `Bench${randomBytes(6).toString('hex')}A1`,
    clientId: 'bench_client',
    clientSecret: randomBytes(24).toString('base64url'),
  };
  // The gateway's defaults except LOG_LEVEL=warn (LOG_REQUESTS, pool size, caches: not set).
  const appEnv = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    METRICS_TOKEN,
    PORT: String(gatewayPort),
    WORKER_PORT: String(workerPort),
    DATABASE_URL: `${settings.pgBase}/${dbName}`,
    REDIS_URL: settings.redisUrl,
    REDIS_PREFIX: redisPrefix,
    JWT_SECRET: randomBytes(36).toString('base64url'),
    BOOTSTRAP_ADMIN_USERNAME: admin.username,
    BOOTSTRAP_ADMIN_EMAIL: 'bench_admin@example.com',
    BOOTSTRAP_ADMIN_PASSWORD: admin.password,
    BOOTSTRAP_CLIENT_ID: admin.clientId,
    BOOTSTRAP_CLIENT_SECRET: admin.clientSecret,
    LOG_LEVEL: 'warn',
    ...appEnvDefaults,
    ...settings.extraGatewayEnv,
  };
  const gatewayExecArgv = [...GATEWAY_NODE_FLAGS, ...profileArgs(settings, profileDir, 'gateway')];
  const extras = Object.entries(settings.extraGatewayEnv).map(([k, v]) => `${k}=${v}`);
  const settingsLine =
    `NODE_ENV=production, LOG_LEVEL=${appEnv.LOG_LEVEL}, ` +
    `LOG_REQUESTS=${appEnv.LOG_REQUESTS ?? 'unset (default true)'}` +
    (appEnvDefaultsNote ? `, ${appEnvDefaultsNote}` : '') +
    (extras.length ? `, extra: ${extras.join(' ')}` : ', everything else at its default') +
    (settings.cpuProfile ? ', under node --cpu-prof' : '');
  const gatewaySettings = {
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
  const bare = new ChildApp('bare', bareScript, {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      BARE_PORT: String(barePort),
      DATABASE_URL: appEnv.DATABASE_URL,
      ...bareEnv,
    },
    port: barePort,
    logFile: logFile('bare'),
    // The same V8 flags as the gateway: the baseline is a Node server tuned alike.
    execArgv: [...GATEWAY_NODE_FLAGS, ...profileArgs(settings, profileDir, 'bare')],
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

  const token = await fetchToken(gatewayPort, admin);
  return {
    dbName,
    redisPrefix,
    databaseUrl: appEnv.DATABASE_URL,
    profileDir,
    ports: { gateway: gatewayPort, worker: workerPort, bare: barePort },
    gateway,
    worker,
    bare,
    settingsLine,
    gatewaySettings,
    startToReadyMs,
    startToHealthReadyMs,
    idleRssMb,
    token,
    auth: { authorization: `Bearer ${token}` },
    cleanupReport,
  };
}

module.exports = { ROOT, requireBuild, profileArgs, fetchToken, startSystem };
