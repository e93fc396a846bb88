#!/usr/bin/env node
'use strict';
// Flows benchmark (issue 16): BENCH_FLOWS (50) flows of six stages (product, architecture, api,
// backend, test, devops) with the offline template provider and no gates, on a file:// repository
// whose pipeline runs BENCH_BUILD_COMMAND (`true`), two workers, all started at once. Reports flows per minute and the
// platform's share of each flow's wall time: everything but the build commands' own time (the
// pipeline's stage durations). Needs `npx nest build`, PostgreSQL and Redis on 127.0.0.1, bubblewrap.
const { join } = require('node:path');
const { runBench } = require('./lib/cleanup');
const { killAllNow } = require('./lib/processes');
const { writeResults } = require('./lib/report');
const { stats, startOnRepository, tempRepository, waitAllDone } = require('./lib/repository-project');
const { round } = require('./lib/util');

const RESULTS_DIR = join(__dirname, 'results');
const int = (name, fallback) => (process.env[name] ? Number(process.env[name]) : fallback);
const settings = {
  flows: int('BENCH_FLOWS', 50),
  workers: int('BENCH_WORKERS', 2),
  timeoutMs: int('BENCH_TIMEOUT_MS', 900000),
  // A build that works a while (`sleep 5`) shows the share with real builds; run it with builds
  // enough at once (BUILDS_CONCURRENCY) that they do not queue behind each other.
  buildCommand: process.env.BENCH_BUILD_COMMAND ?? 'true',
  buildsConcurrency: int('BUILDS_CONCURRENCY', 2),
};
const say = (m) => process.stdout.write(`[bench:flows] ${m}\n`);

async function main(stamp) {
  const { root, url } = tempRepository('cocode-bench-flows-');
  const { call, pg, tasks } = await startOnRepository({
    name: 'flows',
    resultsDir: RESULTS_DIR,
    stamp,
    workers: settings.workers,
    root,
    url,
    tasks: settings.flows,
    buildCommand: settings.buildCommand,
    env: { BUILDS_CONCURRENCY: String(settings.buildsConcurrency) },
  });

  say(
    `${settings.flows} flows of six stages, template provider, ${settings.workers} workers, builds running \`${settings.buildCommand}\` (${settings.buildsConcurrency} at once per worker)`,
  );
  const started = Date.now();
  const ids = await Promise.all(
    tasks.map((t) =>
      call('POST', `/v2/tasks/${t.id}/flows`, { gates: [], config: { provider: 'template' } }, 202).then(
        (b) => b.flowId,
      ),
    ),
  );
  await waitAllDone(
    pg,
    `SELECT count(*) FILTER (WHERE status NOT IN ('running', 'awaiting_approval'))::int AS done FROM flows WHERE id = ANY($1)`,
    ids,
    settings.timeoutMs,
    'flows',
  );
  const wallMs = Date.now() - started;
  const { rows } = await pg.query(
    `SELECT f.id, f.status, f.error, extract(epoch FROM f.completed_at - f.created_at) * 1000 AS ms,
            (SELECT COALESCE(sum((s->>'durationMs')::float), 0) FROM builds b, jsonb_array_elements(b.stages) s
              WHERE b.project_id = f.project_id AND b.branch LIKE 'cocode/' || t.key || '-%' AND s->>'name' <> 'checkout') AS build_ms
       FROM flows f JOIN tasks t ON t.id = f.task_id WHERE f.id = ANY($1)`,
    [ids],
  );
  // Where a flow's time goes (sums over its stages; a stage's activation waits for its build).
  const { rows: parts } = await pg.query(
    `SELECT f.id,
            (SELECT sum(extract(epoch FROM a.started_at - a.created_at)) FROM agent_activations a WHERE a.flow_id = f.id) * 1000 AS act_queue,
            (SELECT sum(extract(epoch FROM a.completed_at - a.started_at)) FROM agent_activations a WHERE a.flow_id = f.id AND a.workflow = 'document') * 1000 AS doc_work,
            (SELECT sum(extract(epoch FROM a.completed_at - a.started_at)) FROM agent_activations a WHERE a.flow_id = f.id AND a.workflow = 'code') * 1000 AS code_work,
            (SELECT sum(extract(epoch FROM b.finished_at - b.created_at)) FROM builds b
              WHERE b.project_id = f.project_id AND b.branch LIKE 'cocode/' || t.key || '-%') * 1000 AS build_span,
            (SELECT sum(extract(epoch FROM b.started_at - b.created_at)) FROM builds b
              WHERE b.project_id = f.project_id AND b.branch LIKE 'cocode/' || t.key || '-%') * 1000 AS build_queue,
            (SELECT COALESCE(sum((s->>'durationMs')::float), 0) FROM builds b, jsonb_array_elements(b.stages) s
              WHERE b.project_id = f.project_id AND b.branch LIKE 'cocode/' || t.key || '-%' AND s->>'name' = 'checkout') AS checkout,
            (SELECT extract(epoch FROM max(e.created_at) FILTER (WHERE e.type = 'flow') - min(e.created_at) FILTER (WHERE e.type = 'merge'))
               FROM flow_events e WHERE e.flow_id = f.id) * 1000 AS merge_to_end
       FROM flows f JOIN tasks t ON t.id = f.task_id WHERE f.id = ANY($1) AND f.status = 'completed'`,
    [ids],
  );
  const { rows: steps } = await pg.query(
    `SELECT s->>'key' AS key, avg(extract(epoch FROM (s->>'completedAt')::timestamptz - (s->>'startedAt')::timestamptz)) * 1000 AS ms
       FROM agent_activations a, jsonb_array_elements(a.steps) s
      WHERE a.flow_id = ANY($1) AND a.workflow = 'code' AND s->>'completedAt' IS NOT NULL
      GROUP BY 1 ORDER BY 2 DESC`,
    [ids],
  );
  const codeSteps = Object.fromEntries(steps.map((r) => [r.key, round(Number(r.ms), 0)]));
  const part = (key) => stats(parts.map((r) => Number(r[key] ?? 0)));
  const breakdown = {
    activationsQueued: part('act_queue'),
    documentStagesWork: part('doc_work'),
    codeStagesWork: part('code_work'),
    buildsQueued: part('build_queue'),
    buildsCheckout: part('checkout'),
    buildsSpan: part('build_span'),
    mergeToEnd: part('merge_to_end'),
  };
  const done = rows.filter((r) => r.status === 'completed');
  const flowMs = stats(done.map((r) => Number(r.ms)));
  const buildMs = stats(done.map((r) => Number(r.build_ms)));
  const share = stats(done.map((r) => (100 * (Number(r.ms) - Number(r.build_ms))) / Number(r.ms)));
  const result = {
    settings,
    completed: done.length,
    failed: rows.filter((r) => r.status !== 'completed').map((r) => `${r.id}: ${r.status} ${r.error}`),
    wallSeconds: round(wallMs / 1000, 2),
    flowsPerMinute: round((done.length / wallMs) * 60000, 1),
    flowMs,
    buildCommandsMs: buildMs,
    platformSharePercent: share,
    breakdown,
    codeStepMeanMs: codeSteps,
  };
  const table = [
    `${done.length}/${settings.flows} flows completed in ${result.wallSeconds} s: ${result.flowsPerMinute} flows/minute (${settings.workers} workers).`,
    '',
    '| Per flow | mean | p50 | p95 |',
    '| --- | --: | --: | --: |',
    `| wall time (ms) | ${flowMs.mean} | ${flowMs.p50} | ${flowMs.p95} |`,
    `| the builds' own commands (ms) | ${buildMs.mean} | ${buildMs.p50} | ${buildMs.p95} |`,
    `| platform share (%) | ${share.mean} | ${share.p50} | ${share.p95} |`,
    `| stages' activations queued (ms) | ${breakdown.activationsQueued.mean} | ${breakdown.activationsQueued.p50} | ${breakdown.activationsQueued.p95} |`,
    `| the three document stages working (ms) | ${breakdown.documentStagesWork.mean} | ${breakdown.documentStagesWork.p50} | ${breakdown.documentStagesWork.p95} |`,
    `| the three code stages working, builds included (ms) | ${breakdown.codeStagesWork.mean} | ${breakdown.codeStagesWork.p50} | ${breakdown.codeStagesWork.p95} |`,
    `| builds, queued to finished (ms) | ${breakdown.buildsSpan.mean} | ${breakdown.buildsSpan.p50} | ${breakdown.buildsSpan.p95} |`,
    `| builds queued (ms) | ${breakdown.buildsQueued.mean} | ${breakdown.buildsQueued.p50} | ${breakdown.buildsQueued.p95} |`,
    `| builds' checkout (ms) | ${breakdown.buildsCheckout.mean} | ${breakdown.buildsCheckout.p50} | ${breakdown.buildsCheckout.p95} |`,
    `| first merge to the flow's end (ms) | ${breakdown.mergeToEnd.mean} | ${breakdown.mergeToEnd.p50} | ${breakdown.mergeToEnd.p95} |`,
    '',
    `A code stage's steps, mean ms: ${Object.entries(codeSteps)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
    '',
    `Target: platform share < 20 % -> ${share.mean < 20 ? 'PASS' : 'FAIL'} (mean ${share.mean} %).`,
  ].join('\n');
  process.stdout.write(`\n${table}\n\n`);
  if (result.failed.length) process.stdout.write(`failed: ${result.failed.join('\n')}\n`);
  writeResults(RESULTS_DIR, `flows-${stamp}`, { ...result, table });
}

runBench(main, { hardKill: killAllNow, resultsDir: RESULTS_DIR });
