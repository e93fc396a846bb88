'use strict';
// Benchmark settings from the environment (BENCH_*), shared by every scenario (run.js, tasks.js).

function intEnv(name, fallback, min, max) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
  }
  return n;
}

const flagEnv = (name) => /^(1|true|yes)$/i.test(process.env[name] ?? '');

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

/** The settings every scenario shares (see bench/README.md, "Options"). Throws on a bad value. */
function readSettings() {
  return {
    durationSeconds: intEnv('BENCH_DURATION', 10, 1, 600),
    warmupSeconds: intEnv('BENCH_WARMUP', 2, 0, 60),
    connections: intEnv('BENCH_CONNECTIONS', 50, 1, 1000),
    startTimeoutMs: intEnv('BENCH_START_TIMEOUT_MS', 30000, 1000, 300000),
    idleSettleMs: intEnv('BENCH_IDLE_SETTLE_MS', 1000, 0, 60000),
    cpuProfile: flagEnv('BENCH_CPU_PROF'),
    failOnTarget: flagEnv('BENCH_FAIL_ON_TARGET'),
    pgBase: loopbackUrl('BENCH_PG_URL', 'postgres://postgres@127.0.0.1:5432'),
    redisUrl: loopbackUrl('BENCH_REDIS_URL', 'redis://127.0.0.1:6379'),
    extraGatewayEnv: extraAppEnv(),
  };
}

function redactEnv(env) {
  const secret = /SECRET|PASSWORD|KEY|TOKEN/;
  return Object.fromEntries(
    Object.entries(env)
      .filter(([k]) => k !== 'PATH')
      .map(([k, v]) => [k, secret.test(k) ? '[redacted]' : v]),
  );
}

module.exports = { intEnv, flagEnv, loopbackUrl, extraAppEnv, readSettings, redactEnv };
