#!/usr/bin/env node
'use strict';
// Build benchmark: what the platform, and its sandbox, add to a trivial build. Two systems run
// side by side (lib/apps.js: each its own database, Redis prefix, gateway and worker), identical
// but for SANDBOX: `bwrap` (the default) and `none` (commands on the host, as the worker). Each
// round triggers the same three-stage pipeline over a local file:// repository once on each, in
// alternating order (POST /trigger, then GET /builds/{id} every BENCH_POLL_MS until it ends), and
// starts BENCH_COMMANDS single commands (`true`) through the compiled Sandbox itself with each
// executor, alternating too. Then the same git clone + checkout + commands straight in a shell.
// Needs `npx nest build` first; PostgreSQL and Redis on 127.0.0.1; bubblewrap (README: the sandbox).
const { execFileSync, execFile } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const {
  chmodSync,
  existsSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} = require('node:fs');
const os = require('node:os');
const { join } = require('node:path');
const { Client } = require('pg');
const { api, startApps } = require('./lib/apps');
const { installHandlers, onCleanup, runCleanup } = require('./lib/cleanup');
const { killAllNow } = require('./lib/processes');
const { writeResults } = require('./lib/report');
const { gitDescribe, round, sleep } = require('./lib/util');

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

const settings = {
  rounds: intEnv('BENCH_BUILDS', 20, 1, 1000),
  warmupBuilds: intEnv('BENCH_WARMUP_BUILDS', 3, 0, 100),
  commands: intEnv('BENCH_COMMANDS', 10, 1, 1000),
  pollMs: intEnv('BENCH_POLL_MS', 10, 1, 1000),
  buildTimeoutMs: intEnv('BENCH_BUILD_TIMEOUT_MS', 30000, 1000, 600000),
  startTimeoutMs: intEnv('BENCH_START_TIMEOUT_MS', 30000, 1000, 300000),
};

/** The targets: what the sandbox may add. */
const TARGETS = { addedPerCommandMs: 50, triggerToSuccessRatio: 1.5 };

/** The trivial build: three stages of one command each. */
const STAGES = [
  { name: 'build', commands: ['echo "building $(cat VERSION)"'] },
  { name: 'test', commands: ['test -f README.md && echo tested'] },
  { name: 'package', commands: ['mkdir -p dist && cp VERSION dist/ && echo packaged'] },
];
const EXECUTORS = ['bwrap', 'none'];

const say = (msg) => process.stdout.write(`[bench:builds] ${msg}\n`);

function percentile(values, p) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** The middle value (the mean of the two middle ones for an even count). */
function median(values) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
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

const elapsedMs = (since) => Number(process.hrtime.bigint() - since) / 1e6;

function shell(script, cwd) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    execFile(
      '/bin/sh',
      ['-c', script],
      { cwd, env: { PATH: process.env.PATH, HOME: cwd } },
      (err, stdout) => {
        if (err) return reject(err);
        resolve({ ms: elapsedMs(started), stdout });
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

/** The uid (and gid) SANDBOX=bwrap runs commands as: the default of SANDBOX_UID / SANDBOX_GID. */
const SANDBOX_UID = 10001;

function chownTree(dir, uid) {
  const walk = (path) => {
    lchownSync(path, uid, uid);
    if (lstatSync(path).isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
  };
  walk(dir);
}

/**
 * The compiled Sandbox of one executor, in this process: the single-command measurement runs
 * exactly what a worker runs for each command (Sandbox.run), without the queue and the database.
 */
async function commandRunner(executor, tmp) {
  const { Logger } = require('@nestjs/common');
  Logger.overrideLogger(false); // SANDBOX=none warns at every command
  const { loadConfig } = require(join(ROOT, 'dist', 'libs', 'core', 'src', 'config', 'app-config'));
  const { Sandbox, shell: shellArgv } = require(join(ROOT, 'dist', 'libs', 'runner', 'src'));
  const root = join(tmp, `commands-${executor}`);
  const config = loadConfig({
    NODE_ENV: 'production',
    JWT_SECRET: randomBytes(32).toString('base64url'),
    SECRETS_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    SANDBOX: executor,
    SANDBOX_UNSAFE_HOST: 'true',
    WORKSPACES_ROOT: root,
    GIT_FILE_ROOTS: tmp,
  });
  const sandbox = new Sandbox(config);
  await sandbox.init();
  const workspace = join(root, 'job');
  mkdirSync(join(workspace, 'home'), { recursive: true });
  await sandbox.own(workspace, join(workspace, 'home'));
  return {
    info: sandbox.info(),
    async run() {
      let output = '';
      const started = process.hrtime.bigint();
      const r = await sandbox.run({
        argv: shellArgv('true'),
        workspace,
        env: { CI: 'true' },
        timeoutMs: 10000,
        onOutput: (t) => (output += t),
        jobId: 'bench',
      });
      const ms = elapsedMs(started);
      if (r.outcome !== 'exited' || r.exitCode !== 0)
        throw new Error(
          `SANDBOX=${executor}: \`true\` ended ${r.outcome} ${r.exitCode} ${r.reason ?? ''} ${output}`,
        );
      return ms;
    },
  };
}

async function main() {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const loadAvgAtStart = os.loadavg().map((n) => round(n, 2));
  for (const app of ['gateway', 'worker']) {
    const f = join(ROOT, 'dist', 'apps', app, 'src', 'main.js');
    if (!existsSync(f)) throw new Error(`${f} is missing: run "npx nest build" first`);
  }
  mkdirSync(RESULTS_DIR, { recursive: true });
  installHandlers(killAllNow);
  const perBuild = settings.buildTimeoutMs;
  const budgetMs =
    4 * settings.startTimeoutMs +
    2 * (settings.rounds + settings.warmupBuilds) * perBuild +
    2 * settings.rounds * settings.commands * 10000;
  const watchdog = setTimeout(() => {
    process.stderr.write(`\nbenchmark exceeded its ${budgetMs} ms budget: stopping\n`);
    runCleanup().finally(() => process.exit(1));
  }, budgetMs);

  // The sandbox runs as SANDBOX_UID (10001): the workspaces and the repository must be reachable by it.
  const tmp = mkdtempSync(join(os.tmpdir(), 'cocode-bench-builds-'));
  chmodSync(tmp, 0o755);
  onCleanup('temporary directory', async () => rmSync(tmp, { recursive: true, force: true }));
  // The sandboxes' generated /etc files (passwd, group, hosts) go here too, and are removed with it.
  process.env.TMPDIR = tmp;
  // One repository per system, alike, each owned by the uid that clones it (SANDBOX_UID for bwrap
  // when the worker runs as root; root for none): git refuses ("dubious ownership") a repository
  // another uid owns unless told to trust it (safe.directory), so the clone works either way.
  const repoDirs = {};
  for (const executor of EXECUTORS) {
    repoDirs[executor] = join(tmp, `repo-${executor}`);
    makeRepo(repoDirs[executor]);
    if (executor === 'bwrap' && process.getuid?.() === 0) chownTree(repoDirs[executor], SANDBOX_UID);
  }
  const repoDir = repoDirs.none;
  const repoUrl = `file://${repoDir}`;

  const systems = {};
  for (const executor of EXECUTORS) {
    say(`starting the ${executor} system: gateway (migrations), then its worker with SANDBOX=${executor}`);
    const apps = await startApps({
      name: `builds_${executor}`,
      resultsDir: RESULTS_DIR,
      stamp,
      startTimeoutMs: settings.startTimeoutMs,
      env: {
        TMPDIR: tmp,
        RATE_LIMIT_ENABLED: 'false',
        SANDBOX: executor,
        ...(executor === 'none' ? { SANDBOX_UNSAFE_HOST: 'true' } : {}),
        GIT_FILE_ROOTS: tmp,
        WORKSPACES_ROOT: join(tmp, `workspaces-${executor}`),
        ARTIFACTS_ROOT: join(tmp, `artifacts-${executor}`),
      },
    });
    const ready = await api(apps.workers[0].port, 'GET', '/health/ready');
    const me = await api(apps.port, 'GET', '/v2/auth/me', apps.token);
    const project = await api(apps.port, 'POST', '/v2/projects', apps.token, {
      name: 'Bench',
      key: 'BENCH',
      ownerId: me.body.userId,
    });
    if (project.status !== 201) throw new Error(`project creation failed: ${project.status} ${project.text}`);
    const pipeline = await api(apps.port, 'POST', '/v2/pipelines', apps.token, {
      projectId: project.body.id,
      name: 'trivial',
      repositoryUrl: `file://${repoDirs[executor]}`,
      stages: STAGES,
    });
    if (pipeline.status !== 201)
      throw new Error(`pipeline creation failed: ${pipeline.status} ${pipeline.text}`);
    const pg = new Client({ connectionString: apps.databaseUrl });
    await pg.connect();
    onCleanup(`pg client (${executor})`, async () => pg.end());
    systems[executor] = {
      apps,
      pg,
      pipelineId: pipeline.body.id,
      workerSandbox: ready.body?.info?.sandbox ?? ready.body?.details?.sandbox ?? null,
      commands: await commandRunner(executor, tmp),
    };
  }

  /** One build on one system: trigger, then poll until it ends. The client's and the server's timings. */
  async function platformBuild(executor) {
    const { apps, pg, pipelineId } = systems[executor];
    const started = process.hrtime.bigint();
    const trig = await api(apps.port, 'POST', `/v2/pipelines/${pipelineId}/trigger`, apps.token, {});
    if (trig.status !== 202) throw new Error(`trigger failed: ${trig.status} ${trig.text}`);
    const triggerMs = elapsedMs(started);
    const deadline = Date.now() + settings.buildTimeoutMs;
    for (;;) {
      const res = await api(apps.port, 'GET', `/v2/builds/${trig.body.buildId}`, apps.token);
      if (['success', 'failed', 'cancelled'].includes(res.body?.status)) {
        const totalMs = elapsedMs(started);
        if (res.body.status !== 'success')
          throw new Error(
            `SANDBOX=${executor}: build ${res.body.buildId} ${res.body.status}: ${res.body.error}`,
          );
        const { rows } = await pg.query(
          `SELECT extract(epoch FROM started_at - created_at) * 1000 AS queued,
                  extract(epoch FROM finished_at - started_at) * 1000 AS running,
                  stages FROM builds WHERE id = $1`,
          [res.body.buildId],
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
      if (Date.now() > deadline) throw new Error(`build ${trig.body.buildId} did not end in time`);
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

  say(`warm-up: ${settings.warmupBuilds} builds and ${settings.commands} commands per executor`);
  for (let i = 0; i < settings.warmupBuilds; i++) for (const ex of EXECUTORS) await platformBuild(ex);
  for (let i = 0; i < settings.commands; i++) for (const ex of EXECUTORS) await systems[ex].commands.run();

  say(
    `measuring ${settings.rounds} rounds: one build and ${settings.commands} single commands per executor, alternating`,
  );
  const builds = { bwrap: [], none: [] };
  const commands = { bwrap: [], none: [] };
  const roundRatios = [];
  const commandDiffs = [];
  for (let r = 0; r < settings.rounds; r++) {
    const order = r % 2 === 0 ? EXECUTORS : [...EXECUTORS].reverse();
    const measured = {};
    for (const ex of order) measured[ex] = await platformBuild(ex);
    for (const ex of EXECUTORS) builds[ex].push(measured[ex]);
    roundRatios.push(measured.bwrap.totalMs / measured.none.totalMs);
    for (let i = 0; i < settings.commands; i++) {
      const pair = {};
      for (const ex of i % 2 === 0 ? order : [...order].reverse())
        pair[ex] = await systems[ex].commands.run();
      for (const ex of EXECUTORS) commands[ex].push(pair[ex]);
      commandDiffs.push(pair.bwrap - pair.none);
    }
    say(
      `round ${r + 1}/${settings.rounds}: build ${measured.bwrap.totalMs.toFixed(0)} ms (bwrap) / ${measured.none.totalMs.toFixed(0)} ms (none)`,
    );
  }

  say(`shell baseline: ${settings.rounds} times each`);
  for (let i = 0; i < settings.warmupBuilds; i++) await shellBuild(true);
  const shellFull = [];
  const shellCommands = [];
  for (let i = 0; i < settings.rounds; i++) shellFull.push(await shellBuild(true));
  for (let i = 0; i < settings.rounds; i++) shellCommands.push(await shellBuild(false));

  const per = (ex) => {
    const b = builds[ex];
    const stage = (name) => stats(b.map((x) => x.stageMs[name]));
    return {
      triggerToSuccess: stats(b.map((x) => x.totalMs)),
      triggerRequest: stats(b.map((x) => x.triggerMs)),
      queued: stats(b.map((x) => x.queuedMs)),
      running: stats(b.map((x) => x.runningMs)),
      checkoutStage: stage('checkout'),
      ...Object.fromEntries(STAGES.map((s) => [`${s.name}Stage`, stage(s.name)])),
      singleCommand: stats(commands[ex]),
    };
  };
  const results = {
    timestamp: new Date().toISOString(),
    commit: gitDescribe(ROOT),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? null,
      loadAvgAtStart,
      loadAvgAtEnd: os.loadavg().map((n) => round(n, 2)),
      kernel: os.release(),
      node: process.version,
      git: execFileSync('git', ['--version'], { encoding: 'utf8' }).trim(),
      bwrap: (() => {
        try {
          return execFileSync('bwrap', ['--version'], { encoding: 'utf8' }).trim();
        } catch {
          return null;
        }
      })(),
      uid: process.getuid?.() ?? null,
    },
    settings,
    stages: STAGES,
    sandbox: Object.fromEntries(
      EXECUTORS.map((ex) => [ex, { worker: systems[ex].workerSandbox, commands: systems[ex].commands.info }]),
    ),
    bwrap: per('bwrap'),
    none: per('none'),
    shell: { cloneCheckoutAndCommands: stats(shellFull), commandsOnly: stats(shellCommands) },
  };
  const b = results.bwrap;
  const n = results.none;
  // Paired within a round, so a drift of the machine falls on both alike.
  results.addedPerCommandMs = round(median(commandDiffs), 1);
  results.triggerToSuccessRatio = round(median(roundRatios), 2);
  results.triggerToSuccessP50Ratio = round(b.triggerToSuccess.p50 / n.triggerToSuccess.p50, 2);
  results.rounds = builds.bwrap.map((x, i) => ({
    bwrapMs: round(x.totalMs, 1),
    noneMs: round(builds.none[i].totalMs, 1),
    ratio: round(roundRatios[i], 2),
  }));
  results.targets = {
    addedPerCommand: {
      target: `<= ${TARGETS.addedPerCommandMs} ms`,
      value: results.addedPerCommandMs,
      pass: results.addedPerCommandMs <= TARGETS.addedPerCommandMs,
    },
    triggerToSuccessRatio: {
      target: `<= ${TARGETS.triggerToSuccessRatio}x`,
      value: results.triggerToSuccessRatio,
      pass: results.triggerToSuccessRatio <= TARGETS.triggerToSuccessRatio,
    },
  };
  results.platformOverheadP50Ms = round(
    n.triggerToSuccess.p50 - results.shell.cloneCheckoutAndCommands.p50,
    1,
  );

  const diff = (x, y) => (x === null || y === null ? '' : round(x - y, 1));
  const row = (label, key) =>
    `| ${label} | ${b[key].p50} | ${b[key].p90} | ${n[key].p50} | ${n[key].p90} | ${diff(b[key].p50, n[key].p50)} |`;
  const passFail = (t) => (t.pass ? 'PASS' : 'FAIL');
  const table = [
    `| Trivial build, ${settings.rounds} rounds | bwrap p50 ms | bwrap p90 ms | none p50 ms | none p90 ms | bwrap − none p50 ms |`,
    '| --- | --: | --: | --: | --: | --: |',
    row(`Trigger → success (polling every ${settings.pollMs} ms)`, 'triggerToSuccess'),
    row('  · POST /trigger answered (202)', 'triggerRequest'),
    row('  · queued: trigger commit → worker claim', 'queued'),
    row('  · running: claim → success committed', 'running'),
    row('    · checkout stage (git clone + checkout, 1 sandbox)', 'checkoutStage'),
    ...STAGES.map((s) => row(`    · ${s.name} stage (1 command)`, `${s.name}Stage`)),
    row(
      `Single command \`true\` (Sandbox.run, ${settings.rounds * settings.commands} runs)`,
      'singleCommand',
    ),
    '',
    '| Target | Measured | Target | Result |',
    '| --- | --: | --: | --- |',
    `| Added per command (median of paired bwrap − none) | ${results.addedPerCommandMs} ms | ${results.targets.addedPerCommand.target} | ${passFail(results.targets.addedPerCommand)} |`,
    `| Trigger → success, bwrap / none (median of the rounds' ratios; ratio of the p50s: ${results.triggerToSuccessP50Ratio}x) | ${results.triggerToSuccessRatio}x | ${results.targets.triggerToSuccessRatio.target} | ${passFail(results.targets.triggerToSuccessRatio)} |`,
    '',
    `| Without the platform (${settings.rounds} runs) | p50 ms | p90 ms |`,
    '| --- | --: | --: |',
    `| Shell: same git clone + checkout + commands | ${results.shell.cloneCheckoutAndCommands.p50} | ${results.shell.cloneCheckoutAndCommands.p90} |`,
    `| Shell: the commands only | ${results.shell.commandsOnly.p50} | ${results.shell.commandsOnly.p90} |`,
    `| **Platform overhead without a sandbox (p50 none − p50 shell with checkout)** | **${results.platformOverheadP50Ms}** | |`,
  ].join('\n');
  results.table = table;
  const file = writeResults(RESULTS_DIR, `${stamp}-builds`, results);
  const sandboxLine = (ex) =>
    `${ex}: ${JSON.stringify(results.sandbox[ex].worker ?? results.sandbox[ex].commands)}`;
  process.stdout.write(
    `\n${table}\n\nworkers' sandboxes (GET /health/ready): ${EXECUTORS.map(sandboxLine).join('; ')}\n` +
      `rounds' ratios: ${results.rounds.map((x) => x.ratio).join(' ')}\n` +
      `load average (1, 5, 15 min) at start ${loadAvgAtStart.join(' ')}, at end ${results.machine.loadAvgAtEnd.join(' ')} (${results.machine.cpus} CPUs)\n` +
      `results: ${file}\n`,
  );
  clearTimeout(watchdog);
}

main()
  .then(() => runCleanup())
  .then((problems) => process.exit(problems.length ? 1 : 0))
  .catch((err) => {
    process.stderr.write(`\nbenchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : err}\n`);
    runCleanup().finally(() => process.exit(1));
  });
