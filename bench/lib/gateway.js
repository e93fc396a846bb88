'use strict';
// What the gateway tells about itself during a run: its GET /metrics and its log file.
const { readFileSync, statSync } = require('node:fs');
const { parsePrometheus, request, round } = require('./util');

const errorMessage = (err) => (err instanceof Error ? err.message : String(err));

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

/**
 * GET /metrics is closed outside development without METRICS_TOKEN: the benches start the apps
 * with this one (bench/lib/system.js, bench/lib/apps.js) and send it.
 */
const METRICS_TOKEN = 'bench-metrics-token-0123456789';

/** Heap, GC and event-loop figures from the gateway's own GET /metrics (prom-client defaults). */
async function gatewayMetrics(port) {
  try {
    const res = await request(port, 'GET', '/metrics', {
      timeoutMs: 5000,
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
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

/** One line: heap, GC and event-loop lag between two gatewayMetrics() readings. */
function describeMetrics(before, after) {
  return (
    `heap used ${before.heapUsedMb} -> ${after.heapUsedMb} MB, ` +
    `heap total ${before.heapTotalMb} -> ${after.heapTotalMb} MB, external ${before.externalMb} -> ${after.externalMb} MB, ` +
    `GC ${round((after.gcSeconds ?? 0) - (before.gcSeconds ?? 0), 2)} s in ${(after.gcCount ?? 0) - (before.gcCount ?? 0)} collections ` +
    `(${Object.entries(after.gcSecondsByKind ?? {})
      .map(([k, v]) => `${k} ${round(v - (before.gcSecondsByKind?.[k] ?? 0), 2)} s`)
      .join(', ')}), ` +
    `event-loop lag p99 ${after.eventLoopLagP99Ms} ms`
  );
}

module.exports = {
  METRICS,
  METRICS_TOKEN,
  errorMessage,
  logLinesSince,
  fileSize,
  gatewayMetrics,
  describeMetrics,
};
