#!/usr/bin/env node
'use strict';
// Flows benchmark (issue 16): BENCH_FLOWS (50) flows of six stages (product, architecture, api,
// backend, test, devops) with the offline template provider and no gates, on a file:// repository
// whose pipeline runs `true`, two workers, all started at once. Reports flows per minute and the
// platform's share of each flow's wall time: everything but the build commands' own time (the
// pipeline's stage durations). Needs `npx nest build`, PostgreSQL and Redis on 127.0.0.1, bubblewrap.
const { execFileSync } = require('node:child_process');
const { mkdirSync, mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { Client } = require('pg');
const { installHandlers, onCleanup, runCleanup } = require('./lib/cleanup');
const { startApps, api } = require('./lib/apps');
const { killAllNow } = require('./lib/processes');
const { writeResults } = require('./lib/report');
const { round, sleep } = require('./lib/util');

const RESULTS_DIR = join(__dirname, 'results');
const int = (name, fallback) => (process.env[name] ? Number(process.env[name]) : fallback);
const settings = {
  flows: int('BENCH_FLOWS', 50),
  workers: int('BENCH_WORKERS', 2),
  timeoutMs: int('BENCH_TIMEOUT_MS', 900000),
};
const say = (m) => process.stdout.write(`[bench:flows] ${m}\n`);
const stats = (values) => {
  const s = [...values].sort((a, b) => a - b);
  const at = (p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
  return {
    mean: round(s.reduce((a, b) => a + b, 0) / (s.length || 1), 0),
    p50: round(at(50), 0),
    p95: round(at(95), 0),
  };
};

function bareRepository(root) {
  const work = join(root, 'work');
  const origin = join(root, 'origin.git');
  mkdirSync(work, { recursive: true });
  const env = { PATH: process.env.PATH, HOME: root, GIT_CONFIG_NOSYSTEM: '1' };
  const git = (...args) =>
    execFileSync('git', ['-c', 'user.name=Bench', '-c', 'user.email=bench@local', ...args], {
      cwd: work,
      env,
    });
  git('init', '--quiet', '--initial-branch=main');
  execFileSync('sh', ['-c', 'echo "# bench" > README.md'], { cwd: work });
  git('add', '-A');
  git('commit', '--quiet', '-m', 'base');
  execFileSync('git', ['clone', '--quiet', '--bare', work, origin]);
  execFileSync('chmod', ['-R', 'a+rwX', root]);
  return `file://${origin}`;
}

async function main() {
  installHandlers(killAllNow);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  mkdirSync(RESULTS_DIR, { recursive: true });
  const root = mkdtempSync(join(tmpdir(), 'cocode-bench-flows-'));
  execFileSync('chmod', ['755', root]);
  onCleanup('temp dir', () => rmSync(root, { recursive: true, force: true }));
  const origin = bareRepository(join(root, 'repo'));
  const { port, token, databaseUrl } = await startApps({
    name: 'flows',
    resultsDir: RESULTS_DIR,
    stamp,
    workers: settings.workers,
    env: {
      WORKSPACES_ROOT: join(root, 'workspaces'),
      GIT_FILE_ROOTS: root,
      SECRETS_ENCRYPTION_KEY: require('node:crypto').randomBytes(32).toString('base64'),
    },
    startTimeoutMs: 60000,
  });
  const call = async (method, path, body, want) => {
    const res = await api(port, method, path, token, body);
    if (res.status !== want) throw new Error(`${method} ${path}: ${res.status} ${res.text}`);
    return res.body;
  };
  const me = await call('GET', '/v2/auth/me', undefined, 200);
  const project = await call(
    'POST',
    '/v2/projects',
    { name: 'Bench', key: 'BENCH', ownerId: me.userId },
    201,
  );
  await call(
    'PUT',
    `/v2/projects/${project.id}`,
    { repository: { url: origin, defaultBranch: 'main' } },
    200,
  );
  const pipeline = await call(
    'POST',
    '/v2/pipelines',
    { projectId: project.id, name: 'ci', stages: [{ name: 'test', commands: ['true'] }] },
    201,
  );
  await call(
    'PUT',
    `/v2/projects/${project.id}`,
    { repository: { url: origin, defaultBranch: 'main', pipelineId: pipeline.id } },
    200,
  );
  const tasks = [];
  for (let i = 0; i < settings.flows; i++)
    tasks.push(
      await call('POST', `/v2/projects/${project.id}/tasks`, { type: 'story', title: `feature ${i}` }, 201),
    );

  say(`${settings.flows} flows of six stages, template provider, ${settings.workers} workers`);
  const started = Date.now();
  const ids = await Promise.all(
    tasks.map((t) =>
      call('POST', `/v2/tasks/${t.id}/flows`, { gates: [], config: { provider: 'template' } }, 202).then(
        (b) => b.flowId,
      ),
    ),
  );
  const pg = new Client({ connectionString: databaseUrl });
  await pg.connect();
  onCleanup('pg', () => pg.end());
  const deadline = Date.now() + settings.timeoutMs;
  for (;;) {
    const { rows } = await pg.query(
      `SELECT count(*) FILTER (WHERE status NOT IN ('running', 'awaiting_approval'))::int AS done FROM flows WHERE id = ANY($1)`,
      [ids],
    );
    if (rows[0].done >= ids.length) break;
    if (Date.now() > deadline) throw new Error(`only ${rows[0].done}/${ids.length} flows ended in time`);
    await sleep(500);
  }
  const wallMs = Date.now() - started;
  const { rows } = await pg.query(
    `SELECT f.id, f.status, f.error, extract(epoch FROM f.completed_at - f.created_at) * 1000 AS ms,
            (SELECT COALESCE(sum((s->>'durationMs')::float), 0) FROM builds b, jsonb_array_elements(b.stages) s
              WHERE b.project_id = f.project_id AND b.branch LIKE 'cocode/' || t.key || '-%' AND s->>'name' <> 'checkout') AS build_ms
       FROM flows f JOIN tasks t ON t.id = f.task_id WHERE f.id = ANY($1)`,
    [ids],
  );
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
  };
  const table = [
    `${done.length}/${settings.flows} flows completed in ${result.wallSeconds} s: ${result.flowsPerMinute} flows/minute (${settings.workers} workers).`,
    '',
    '| Per flow | mean | p50 | p95 |',
    '| --- | --: | --: | --: |',
    `| wall time (ms) | ${flowMs.mean} | ${flowMs.p50} | ${flowMs.p95} |`,
    `| the builds' own commands (ms) | ${buildMs.mean} | ${buildMs.p50} | ${buildMs.p95} |`,
    `| platform share (%) | ${share.mean} | ${share.p50} | ${share.p95} |`,
    '',
    `Target: platform share < 20 % -> ${share.mean < 20 ? 'PASS' : 'FAIL'} (mean ${share.mean} %).`,
  ].join('\n');
  process.stdout.write(`\n${table}\n\n`);
  if (result.failed.length) process.stdout.write(`failed: ${result.failed.join('\n')}\n`);
  writeResults(RESULTS_DIR, `flows-${stamp}`, { ...result, table });
}

main()
  .then(() => runCleanup())
  .then(() => process.exit(0))
  .catch(async (err) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : err}\n`);
    await runCleanup();
    process.exit(1);
  });
