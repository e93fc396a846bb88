'use strict';
// One autocannon run (programmatic API) against 127.0.0.1, reduced to the numbers we report.
const autocannon = require('autocannon');
const { round } = require('./util');

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

module.exports = { runLoad, stopCurrentLoad };
