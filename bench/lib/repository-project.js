'use strict';
// What the code agents' and the flows' benchmarks share: a temp dir the sandbox's user can read,
// a bare file:// repository, the apps on it with a project whose repository and trivial pipeline
// (`true`) are set, tasks, a wait on the database, and mean/p50/p95.
const { randomBytes } = require('node:crypto');
const { execFileSync } = require('node:child_process');
const { mkdirSync, mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { Client } = require('pg');
const { onCleanup } = require('./cleanup');
const { startApps, api } = require('./apps');
const { round, sleep } = require('./util');

/** mean, p50 and p95 of `values`, rounded. */
function stats(values) {
  const s = [...values].sort((a, b) => a - b);
  const at = (p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
  return {
    mean: round(s.reduce((a, b) => a + b, 0) / (s.length || 1), 0),
    p50: round(at(50), 0),
    p95: round(at(95), 0),
  };
}

/** A fresh temp dir (removed at cleanup) holding a bare repository with one commit; its file:// URL. */
function tempRepository(prefix) {
  const root = mkdtempSync(join(tmpdir(), prefix));
  execFileSync('chmod', ['755', root]);
  onCleanup('temp dir', () => rmSync(root, { recursive: true, force: true }));
  const work = join(root, 'repo', 'work');
  const origin = join(root, 'repo', 'origin.git');
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
  execFileSync('chmod', ['-R', 'a+rwX', join(root, 'repo')]);
  return { root, url: `file://${origin}` };
}

/**
 * The apps (startApps) with workspaces and file:// repositories under `root`, a project on the
 * repository `url` with a pipeline running `buildCommand` (`true`), and `tasks` tasks; `call(method, path, body,
 * wantStatus)` answers the body or throws.
 */
async function startOnRepository({
  name,
  resultsDir,
  stamp,
  workers,
  env = {},
  root,
  url,
  tasks,
  buildCommand = 'true',
}) {
  const apps = await startApps({
    name,
    resultsDir,
    stamp,
    workers,
    env: {
      WORKSPACES_ROOT: join(root, 'workspaces'),
      GIT_FILE_ROOTS: root,
      SECRETS_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      ...env,
    },
    startTimeoutMs: 60000,
  });
  const call = async (method, path, body, want) => {
    const res = await api(apps.port, method, path, apps.token, body);
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
  await call('PUT', `/v2/projects/${project.id}`, { repository: { url, defaultBranch: 'main' } }, 200);
  const pipeline = await call(
    'POST',
    '/v2/pipelines',
    { projectId: project.id, name: 'ci', stages: [{ name: 'test', commands: [buildCommand] }] },
    201,
  );
  const repository = { url, defaultBranch: 'main', pipelineId: pipeline.id };
  await call('PUT', `/v2/projects/${project.id}`, { repository }, 200);
  const made = [];
  for (let i = 0; i < tasks; i++)
    made.push(
      await call('POST', `/v2/projects/${project.id}/tasks`, { type: 'story', title: `feature ${i}` }, 201),
    );
  const pg = new Client({ connectionString: apps.databaseUrl });
  await pg.connect();
  onCleanup('pg', () => pg.end());
  return { call, pg, project, tasks: made };
}

/** Waits until `countDone` (a query of one row `{ done }` over ids $1) reaches ids.length. */
async function waitAllDone(pg, countDone, ids, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await pg.query(countDone, [ids]);
    if (rows[0].done >= ids.length) return;
    if (Date.now() > deadline) throw new Error(`only ${rows[0].done}/${ids.length} ${what} ended in time`);
    await sleep(250);
  }
}

module.exports = { stats, tempRepository, startOnRepository, waitAllDone };
