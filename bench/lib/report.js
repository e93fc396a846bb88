'use strict';
// Targets, the markdown table and the JSON results file.
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { round } = require('./util');

const TARGETS = {
  rpsRatioPct: { min: 60, label: '>= 60 % of bare rps' },
  p99Ms: { max: 20, label: 'p99 < 20 ms' },
  idleRssMb: { max: 200, label: 'RSS < 200 MB' },
  startToReadyMs: { max: 3000, label: 'start-to-ready < 3 s' },
};

const passFail = (ok) => (ok === null ? 'n/a' : ok ? 'PASS' : 'FAIL');

/** Whether value meets t ({ min } inclusive or { max } exclusive); null when the value is missing. */
const checkTarget = (value, t) =>
  value === null || value === undefined ? null : t.min !== undefined ? value >= t.min : value < t.max;

/** The pass/fail of every target from the measured numbers (null when a number is missing). */
function evaluateTargets(m) {
  const check = checkTarget;
  return {
    rpsRatio: {
      target: TARGETS.rpsRatioPct.label,
      value: m.rpsRatioPct,
      pass: check(m.rpsRatioPct, TARGETS.rpsRatioPct),
    },
    p99: { target: TARGETS.p99Ms.label, value: m.gatewayP99Ms, pass: check(m.gatewayP99Ms, TARGETS.p99Ms) },
    idleRss: {
      target: TARGETS.idleRssMb.label,
      value: m.idleRssMb,
      pass: check(m.idleRssMb, TARGETS.idleRssMb),
    },
    startToReady: {
      target: TARGETS.startToReadyMs.label,
      value: m.startToReadyMs,
      pass: check(m.startToReadyMs, TARGETS.startToReadyMs),
    },
  };
}

const fmt = (v, digits = 1) => (v === null || v === undefined ? 'n/a' : String(round(v, digits)));
const pct = (a, b) => (a === null || b === null || !b ? null : round((a / b) * 100, 1));

function markdownTable(r) {
  const g = r.gateway.load;
  const b = r.bare.load;
  const t = r.targets;
  const rows = [
    ['Metric', 'Gateway', 'Bare fastify + pg', 'Gateway / bare', 'Target', 'Result'],
    ['---', '--:', '--:', '--:', '---', '---'],
    [
      'Requests/s (avg)',
      fmt(g.rps),
      fmt(b.rps),
      `${fmt(r.rpsRatioPct)} %`,
      t.rpsRatio.target,
      passFail(t.rpsRatio.pass),
    ],
    [
      'Latency p50 (ms)',
      fmt(g.latencyMs.p50),
      fmt(b.latencyMs.p50),
      `${fmt(pct(g.latencyMs.p50, b.latencyMs.p50))} %`,
      '',
      '',
    ],
    [
      'Latency p99 (ms)',
      fmt(g.latencyMs.p99),
      fmt(b.latencyMs.p99),
      `${fmt(pct(g.latencyMs.p99, b.latencyMs.p99))} %`,
      `${t.p99.target} (gateway)`,
      passFail(t.p99.pass),
    ],
    ['Non-2xx responses', String(g.non2xx), String(b.non2xx), '', '', ''],
    ['Errors / timeouts', `${g.errors} / ${g.timeouts}`, `${b.errors} / ${b.timeouts}`, '', '', ''],
    [
      'Start-to-ready (ms)',
      fmt(r.gateway.startToReadyMs, 0),
      '',
      '',
      t.startToReady.target,
      passFail(t.startToReady.pass),
    ],
    ['Idle RSS (MB)', fmt(r.gateway.idleRssMb), '', '', t.idleRss.target, passFail(t.idleRss.pass)],
  ];
  return toMarkdown(rows);
}

/** Rows of cells (the first is the header, the second the alignment row) as a markdown table. */
function toMarkdown(rows) {
  return rows.map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

function writeResults(dir, stamp, results) {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${stamp}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}

module.exports = {
  TARGETS,
  evaluateTargets,
  markdownTable,
  writeResults,
  pct,
  fmt,
  passFail,
  checkTarget,
  toMarkdown,
};
