'use strict';
// One autocannon run (programmatic API) against 127.0.0.1, reduced to the numbers we report.
const autocannon = require('autocannon');
const { cpuMeter, round, rssSampler } = require('./util');

let current = null;

/** Stops a run in progress (used by cleanup on Ctrl-C); autocannon then finishes within ~1 s. */
function stopCurrentLoad() {
  current?.stop();
}

/**
 * @param {object} o { port, path, headers, connections, durationSeconds, title }
 * @returns the summary of the run (rps = autocannon's average of its per-second samples)
 */
async function runLoad({ port, path, headers = {}, connections, durationSeconds, title }) {
  const url = `http://127.0.0.1:${port}${path}`;
  if (!url.startsWith('http://127.0.0.1:')) throw new Error('load only goes to 127.0.0.1');
  const instance = autocannon({
    title,
    url,
    method: 'GET',
    headers,
    connections,
    pipelining: 1,
    duration: durationSeconds,
    timeout: 10,
  });
  current = instance;
  let result;
  try {
    result = await instance;
  } finally {
    current = null;
  }
  const statusCodes = Object.fromEntries(
    Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [code, s.count]),
  );
  return {
    title,
    url,
    connections,
    durationSeconds: result.duration,
    rps: round(result.requests.average, 1),
    rpsStddev: round(result.requests.stddev, 1),
    totalRequests: result.requests.total,
    latencyMs: {
      mean: round(result.latency.mean, 2),
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
    },
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
  };
}

/**
 * One measured target: a warm-up (not counted), then the measured run, with the CPU of `pids`
 * and the target's RSS sampled during the measured run only.
 * @param {string} name
 * @param {ChildApp} target  the server under load (must still be running afterwards)
 * @param {object} o         { port, path, headers, pids: { label: pid } or an async function giving them }
 * @param {object} ctx       { settings, say, duringWarmup }: duringWarmup() is called as the warm-up
 *                           starts and returns a function called when it ends; that function's
 *                           (awaited) result is returned as `warmupProbe`
 */
async function loadPhase(name, target, { port, path, headers, pids }, { settings, say, duringWarmup }) {
  let warmupProbe;
  if (settings.warmupSeconds > 0) {
    say(`${name}: warm-up ${settings.warmupSeconds} s at ${settings.connections} connections`);
    const stopProbe = duringWarmup?.();
    let warm;
    try {
      warm = await runLoad({
        title: `${name} warm-up`,
        port,
        path,
        headers,
        connections: settings.connections,
        durationSeconds: settings.warmupSeconds,
      });
    } finally {
      if (stopProbe) warmupProbe = await stopProbe();
    }
    say(`${name}: warm-up ${warm.rps} req/s, ${warm.non2xx} non-2xx, ${warm.errors} errors`);
  }
  if (!target.running)
    throw new Error(`${name} is no longer running after the warm-up:\n${target.logTail()}`);
  say(`${name}: measuring ${settings.durationSeconds} s at ${settings.connections} connections`);
  // pids may be a function, called after the warm-up (when connection pools are full).
  const meter = cpuMeter(typeof pids === 'function' ? await pids() : pids);
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
  const phase = { load, cpu, rssMb, window: { fromUs: Number(fromUs), toUs: Number(toUs) } };
  if (warmupProbe !== undefined) phase.warmupProbe = warmupProbe;
  return phase;
}

module.exports = { runLoad, stopCurrentLoad, loadPhase };
