#!/usr/bin/env node
'use strict';
// Tasks benchmark: a project with 200,000 tasks (seeded in SQL after a few API-created ones);
// GET /v2/projects/{projectId}/tasks?status=review&pageSize=20 and GET /v2/tasks/{taskId} (by id and
// by key) through the compiled gateway versus a bare Fastify + pg server running the same SQL
// (bench/bare-tasks-server.js), plus EXPLAIN (ANALYZE, BUFFERS) of the list's queries.
// See bench/README.md. Needs `npx nest build` first; PostgreSQL and Redis on 127.0.0.1.
const { execFileSync } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const { mkdirSync, readdirSync, statSync } = require('node:fs');
const os = require('node:os');
const { join, relative } = require('node:path');
const { Client } = require('pg');
const { installHandlers, onCleanup, runCleanup } = require('./lib/cleanup');
const { intEnv, readSettings } = require('./lib/config');
const { findCpuProfile, formatCpuProfile, summarizeCpuProfile } = require('./lib/cpu-profile');
const { describeMetrics, errorMessage, fileSize, gatewayMetrics, logLinesSince } = require('./lib/gateway');
const { loadPhase } = require('./lib/load');
const { killAllNow } = require('./lib/processes');
const { checkTarget, fmt, passFail, pct, toMarkdown, writeResults } = require('./lib/report');
const { seedTasks, verifyInvariants } = require('./lib/seed-tasks');
const { SqlTrace, backendPidsOf, compareStatements, tablesOf } = require('./lib/sql-trace');
const { requireBuild, startSystem } = require('./lib/system');
const {
  PROJECT_BY_ID,
  TASK_BY_ID,
  TASK_BY_KEY,
  TASK_STATUSES,
  listCountSql,
  listPageSql,
  normalizeSql,
} = require('./lib/tasks-sql');
const { gitDescribe, readMemoryKb, request, round, sleep } = require('./lib/util');

const ROOT = join(__dirname, '..');
const RESULTS_DIR = join(__dirname, 'results');

const settings = {
  ...readSettings(),
  // How many tasks to seed in SQL (besides the API-created ones).
  tasks: intEnv('BENCH_TASKS', 200000, 1000, 2000000),
  // Limit for each seeding statement (INSERT of the tasks, of their history).
  seedTimeoutMs: intEnv('BENCH_SEED_TIMEOUT_MS', 300000, 10000, 1800000),
  // Rounds of the five targets; each target is reported by its median round.
  rounds: intEnv('BENCH_ROUNDS', 1, 1, 10),
};
const API_TASKS = 3;
const PROJECT_KEY = 'BENCH';
const LIST_QUERY = { status: 'review', page: 1, pageSize: 20 };

const TARGETS = {
  getRatioPct: { min: 60, label: '>= 60 % of bare rps' },
  listRatioPct: { min: 50, label: '>= 50 % of bare rps' },
  listP99Ms: { max: 25, label: 'p99 < 25 ms' },
};

// The gateway's rate limiter (RATE_LIMIT_ENABLED, default on) stays on, so its per-request work is
// measured, but with every limit at the highest value the config takes: 50 connections of one
// admin would otherwise get 429s (the free tier's default is 60/min, 5 concurrent). Override with
// BENCH_GATEWAY_ENV (e.g. RATE_LIMIT_ENABLED=false to see what the limiter costs).
const RATE_LIMIT_HEADROOM = Object.fromEntries(
  ['FREE', 'PRO', 'ENTERPRISE', 'IP'].flatMap((n) => [
    [`RATE_LIMIT_${n}_PER_MINUTE`, '1000000000'],
    [`RATE_LIMIT_${n}_PER_HOUR`, '1000000000'],
    [`RATE_LIMIT_${n}_CONCURRENT`, '1000000'],
  ]),
);

const say = (msg) => process.stdout.write(`[bench:tasks] ${msg}\n`);

/** Read-only: files changed in the working tree (the gateway may be mid-edit), without index writes. */
function workingTreeChanges() {
  try {
    return execFileSync('git', ['--no-optional-locks', 'status', '--porcelain'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 5000,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .split('\n')
      .filter(Boolean);
  } catch {
    return null;
  }
}

/** Whether a TypeScript source changed after dist/ was built (then the run measures old code). */
function distFreshness(gatewayScript) {
  const builtMs = statSync(gatewayScript).mtimeMs;
  let newest = { file: null, mtimeMs: 0 };
  const walk = (dir, depth) => {
    if (depth > 12) return;
    let entries = [];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && !e.name.startsWith('.')) walk(p, depth + 1);
      } else if (e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts')) {
        const m = statSync(p).mtimeMs;
        if (m > newest.mtimeMs) newest = { file: relative(ROOT, p), mtimeMs: m };
      }
    }
  };
  for (const d of ['apps', 'libs', 'migrations']) walk(join(ROOT, d), 0);
  return {
    builtAt: new Date(builtMs).toISOString(),
    newestSource: newest.file,
    newestSourceAt: newest.mtimeMs ? new Date(newest.mtimeMs).toISOString() : null,
    stale: newest.mtimeMs > builtMs,
  };
}

/** Paths where two JSON values differ (at most `limit`). */
function jsonDifferences(a, b, path = '$', out = [], limit = 10) {
  if (out.length >= limit) return out;
  if (a && b && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    const keysA = Object.keys(a);
    const keysB = Object.keys(b);
    if (!Array.isArray(a) && keysA.join() !== keysB.join() && keysA.sort().join() === keysB.sort().join())
      out.push(`${path}: same keys in another order`);
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)]))
      jsonDifferences(a[k], b[k], `${path}.${k}`, out, limit);
  } else if (JSON.stringify(a) !== JSON.stringify(b)) {
    out.push(
      `${path}: gateway ${JSON.stringify(a)?.slice(0, 80)} vs bare ${JSON.stringify(b)?.slice(0, 80)}`,
    );
  }
  return out;
}

/** EXPLAIN (ANALYZE, BUFFERS) with the same parameters, and what the plan uses. */
async function explain(client, name, sql, params) {
  const { rows } = await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params);
  const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
  const scans = [
    ...[...plan.matchAll(/(Index Only Scan|Index Scan)( Backward)? using (\S+) on (\S+)/g)].map(
      (m) => `${m[1]}${m[2] ?? ''} using ${m[3]} on ${m[4]}`,
    ),
    ...[...plan.matchAll(/Bitmap Index Scan on (\S+)/g)].map((m) => `Bitmap Index Scan on ${m[1]}`),
    ...[...plan.matchAll(/Seq Scan on (\S+)/g)].map((m) => `Seq Scan on ${m[1]}`),
  ];
  const exec = /Execution Time: ([\d.]+) ms/.exec(plan);
  return {
    name,
    sql: normalizeSql(sql),
    params,
    scans,
    seqScanOnTasks: /Seq Scan on tasks\b/.test(plan),
    executionMs: exec ? Number(exec[1]) : null,
    plan,
  };
}

async function main() {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const tag = randomBytes(4).toString('hex');
  const filePrefix = `tasks-${stamp}`;
  const { gatewayScript } = requireBuild();
  mkdirSync(RESULTS_DIR, { recursive: true });

  installHandlers(killAllNow);
  // Hard limit on the whole run (every wait inside has its own, shorter, limit).
  const budgetMs =
    3 * settings.startTimeoutMs +
    (5 * settings.rounds + 1) * (settings.durationSeconds + settings.warmupSeconds + 1) * 1000 +
    2 * settings.seedTimeoutMs +
    120000;
  const watchdog = setTimeout(() => {
    process.stderr.write(`\nbenchmark exceeded its ${budgetMs} ms budget: stopping\n`);
    runCleanup().finally(() => process.exit(1));
  }, budgetMs);

  const build = distFreshness(gatewayScript);
  const results = {
    scenario: 'tasks',
    timestamp: new Date().toISOString(),
    commit: gitDescribe(ROOT),
    workingTreeChanges: workingTreeChanges(),
    build,
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? null,
      memoryMb: Math.round(os.totalmem() / 2 ** 20),
      loadAvgAtStart: os.loadavg().map((n) => round(n, 2)),
      node: process.version,
    },
    settings: { ...settings },
  };
  if (build.stale)
    say(
      `WARNING: ${build.newestSource} changed after dist/ was built (${build.builtAt}): run "npx nest build"`,
    );

  const sys = await startSystem({
    settings,
    tag,
    resultsDir: RESULTS_DIR,
    filePrefix,
    say,
    bareScript: join(__dirname, 'bare-tasks-server.js'),
    appEnvDefaults: RATE_LIMIT_HEADROOM,
    appEnvDefaultsNote: 'rate limits raised out of reach (RATE_LIMIT_{FREE,PRO,ENTERPRISE,IP}_*, limiter on)',
  });
  const { gateway, worker, bare, auth, cleanupReport } = sys;
  const { gateway: gatewayPort, bare: barePort } = sys.ports;
  results.gatewaySettings = sys.gatewaySettings;
  results.gatewayStart = {
    startToReadyMs: round(sys.startToReadyMs, 0),
    startToHealthReadyMs: round(sys.startToHealthReadyMs, 0),
    idleRssMb: sys.idleRssMb,
  };
  const api = async (method, path, body, expected = 200) => {
    const res = await request(gatewayPort, method, path, { headers: auth, body, timeoutMs: 15000 });
    if (res.status !== expected)
      throw new Error(`${method} ${path} answered ${res.status} (expected ${expected}): ${res.text}`);
    return res.json;
  };

  // ---- 1. the project and a few tasks through the API (the normal code path makes the counters) ------
  const me = await api('GET', '/v2/auth/me');
  const adminId = me.userId;
  const project = await api(
    'POST',
    '/v2/projects',
    { name: 'Bench tasks', key: PROJECT_KEY, ownerId: adminId, visibility: 'private' },
    201,
  );
  const projectId = project.id;
  for (let i = 1; i <= API_TASKS; i += 1) {
    await api('POST', `/v2/projects/${projectId}/tasks`, { type: 'task', title: `API task ${i}` }, 201);
  }
  say(
    `admin ${adminId}; project ${projectId} (${PROJECT_KEY}) with ${API_TASKS} tasks created through the API`,
  );

  // ---- 2. seed in SQL, check the invariants, then the API's totals -----------------------------------
  const db = new Client({
    connectionString: sys.databaseUrl,
    application_name: 'cocode-bench-seed',
    connectionTimeoutMillis: 5000,
    statement_timeout: settings.seedTimeoutMs,
  });
  await db.connect();
  onCleanup('seed connection', async () => db.end());
  say(`seeding ${settings.tasks} tasks in SQL (INSERT ... SELECT FROM generate_series) ...`);
  const seed = await seedTasks(db, { projectId, adminId, count: settings.tasks });
  say(
    `seeded ${seed.seeded} tasks (${seed.projectKey}-${seed.firstSeededNumber} .. ${seed.projectKey}-${seed.lastNumber}) ` +
      `and ${seed.historyRows} history rows in ${round(seed.totalMs / 1000, 1)} s ` +
      `(${Object.entries(seed.timings)
        .map(([k, v]) => `${k.replace(/Ms$/, '')} ${round(v / 1000, 1)} s`)
        .join(', ')})`,
  );
  const invariants = await verifyInvariants(db, { projectId });
  for (const c of invariants.checks)
    if (!c.ok) say(`INVARIANT BROKEN: ${c.name}: ${JSON.stringify(c.detail)}`);
  if (!invariants.ok) throw new Error('the seeded data breaks an invariant of the service (see above)');
  say(`invariants hold: ${invariants.checks.map((c) => c.name).join('; ')}`);

  const exactCount = async (status) =>
    Number(
      (
        await db.query(
          `SELECT count(*) AS n FROM tasks WHERE project_id = $1${status ? ' AND status = $2' : ''}`,
          status ? [projectId, status] : [projectId],
        )
      ).rows[0].n,
    );
  const totalsCheck = [];
  for (const status of [...TASK_STATUSES, undefined]) {
    const page = await api(
      'GET',
      `/v2/projects/${projectId}/tasks?${status ? `status=${status}&` : ''}pageSize=1`,
    );
    const actual = await exactCount(status);
    totalsCheck.push({
      status: status ?? '(all)',
      totalItems: page.pagination.totalItems,
      countStar: actual,
      exact: page.pagination.totalItems === actual,
    });
  }
  const totalsExact = totalsCheck.every((t) => t.exact);
  say(
    `API totals (pageSize=1) vs SELECT count(*): ${totalsCheck
      .map((t) => `${t.status} ${t.totalItems}/${t.countStar}${t.exact ? '' : ' MISMATCH'}`)
      .join(', ')}`,
  );
  if (!totalsExact) say('WARNING: the API does not report the exact totals');

  const fixedNumber = Math.min(100000, Math.floor(seed.lastNumber / 2));
  const fixedKey = `${seed.projectKey}-${fixedNumber}`;
  const fixed = (
    await db.query(`SELECT id, status FROM tasks WHERE project_id = $1 AND number = $2`, [
      projectId,
      fixedNumber,
    ])
  ).rows[0];
  const taskId = fixed.id;
  const history = await api('GET', `/v2/tasks/${fixedKey}/history?pageSize=1`);
  const historyExpected = TASK_STATUSES.indexOf(fixed.status) + 1;
  results.data = {
    adminId,
    projectId,
    apiCreatedTasks: API_TASKS,
    seed,
    invariants,
    apiTotals: { exact: totalsExact, byStatus: totalsCheck },
    fixedTask: {
      id: taskId,
      key: fixedKey,
      status: fixed.status,
      historyEntries: history.pagination.totalItems,
      historyEntriesExpected: historyExpected,
    },
  };
  say(
    `fixed task ${fixedKey} = ${taskId} (${fixed.status}, ${history.pagination.totalItems} history entries through the API, expected ${historyExpected})`,
  );

  // ---- 3. the baseline, and one check that both answer the same bodies -------------------------------
  bare.env.BARE_VIEWER_ID = adminId;
  bare.start();
  await bare.waitFor('/health', settings.startTimeoutMs);
  const listQs = `status=${LIST_QUERY.status}&pageSize=${LIST_QUERY.pageSize}`;
  const paths = {
    gatewayList: `/v2/projects/${projectId}/tasks?${listQs}`,
    bareList: `/projects/${projectId}/tasks?${listQs}`,
    gatewayGetById: `/v2/tasks/${taskId}`,
    gatewayGetByKey: `/v2/tasks/${fixedKey}`,
    bareGet: `/tasks/${taskId}`,
    bareGetByKey: `/tasks/${fixedKey}`,
  };
  const compareBodies = async (gatewayPath, barePath) => {
    const g = await request(gatewayPort, 'GET', gatewayPath, { headers: auth });
    const b = await request(barePort, 'GET', barePath);
    if (g.status !== 200) throw new Error(`GET ${gatewayPath} answered ${g.status}: ${g.text}`);
    if (b.status !== 200) throw new Error(`GET ${barePath} answered ${b.status}: ${b.text}`);
    const match = JSON.stringify(g.json) === JSON.stringify(b.json);
    return {
      gatewayPath,
      barePath,
      match,
      differences: match ? [] : jsonDifferences(g.json, b.json),
      gatewayBytes: g.text.length,
      bareBytes: b.text.length,
      gatewayHeaders: Object.keys(g.headers),
      gatewayBody: g.json,
    };
  };
  const bodies = {
    list: await compareBodies(paths.gatewayList, paths.bareList),
    getById: await compareBodies(paths.gatewayGetById, paths.bareGet),
    getByKey: await compareBodies(paths.gatewayGetByKey, paths.bareGetByKey),
  };
  const reviewCount = await exactCount(LIST_QUERY.status);
  const listBody = bodies.list.gatewayBody;
  const listCheck = {
    totalItems: listBody.pagination.totalItems,
    countStar: reviewCount,
    exact: listBody.pagination.totalItems === reviewCount,
    items: listBody.data.length,
    allReview: listBody.data.every((t) => t.status === LIST_QUERY.status),
    newestFirst: listBody.data.every((t, i, a) => i === 0 || a[i - 1].createdAt >= t.createdAt),
  };
  for (const [name, c] of Object.entries(bodies)) {
    if (!c.match) say(`WARNING: ${name} bodies differ: ${c.differences.join('; ')}`);
    delete c.gatewayBody;
  }
  say(
    `bodies identical: list ${bodies.list.match}, get by id ${bodies.getById.match}, get by key ${bodies.getByKey.match}; ` +
      `list totalItems ${listCheck.totalItems} = count(*) ${listCheck.countStar}: ${listCheck.exact}`,
  );
  results.responseCheck = { bodies, list: listCheck };

  // ---- 4. load, one target at a time; the SQL each process sends is sampled during the warm-ups ------
  const trace = settings.warmupSeconds > 0 ? new SqlTrace(sys.databaseUrl, sys.dbName) : null;
  if (trace) {
    await trace.connect();
    onCleanup('SQL trace connection', async () => trace.close());
  }
  const processes = () => ({ gateway: gateway.pid, bare: bare.pid, worker: worker.pid });
  const duringWarmup = trace
    ? () => {
        const end = trace.begin();
        return () => end(processes());
      }
    : undefined;
  const PHASES = [
    { id: 'gatewayList', label: 'Gateway list', app: gateway, port: gatewayPort, headers: auth },
    { id: 'bareList', label: 'Bare list', app: bare, port: barePort, headers: {} },
    { id: 'gatewayGetById', label: 'Gateway get by id', app: gateway, port: gatewayPort, headers: auth },
    { id: 'gatewayGetByKey', label: 'Gateway get by key', app: gateway, port: gatewayPort, headers: auth },
    { id: 'bareGet', label: 'Bare get by id', app: bare, port: barePort, headers: {} },
  ];
  const gatewayLogOffset = fileSize(gateway.logFile);
  const metricsBefore = await gatewayMetrics(gatewayPort);
  // Each round runs the five targets in turn; with BENCH_ROUNDS > 1 every target is reported by
  // its median round (by rps), which damps bursts of other work on a shared machine.
  const rounds = [];
  for (let round = 1; round <= settings.rounds; round += 1) {
    if (settings.rounds > 1) say(`round ${round} of ${settings.rounds}`);
    const phasesOfRound = {};
    for (const p of PHASES) {
      // Let the previous target drain (requests queued in its pool) so that runs never overlap.
      await sleep(500);
      let backends = [];
      const phase = await loadPhase(
        settings.rounds > 1 ? `${p.label} (round ${round})` : p.label,
        p.app,
        {
          port: p.port,
          path: paths[p.id],
          headers: p.headers,
          // After the warm-up: the server, the load generator and the PostgreSQL backends serving it.
          pids: async () => {
            backends = await backendPidsOf(db, sys.dbName, p.app.pid);
            return {
              [p.app.name]: p.app.pid,
              loadGenerator: process.pid,
              ...Object.fromEntries(backends.map((pid, i) => [`pg${i}`, pid])),
            };
          },
        },
        // The SQL is traced in the first round's warm-ups only.
        { settings, say, duringWarmup: round === 1 ? duringWarmup : undefined },
      );
      phase.path = paths[p.id];
      phase.round = round;
      // One figure for PostgreSQL: the sum over the backends serving this server.
      const c = phase.cpu;
      const pgKeys = Object.keys(c).filter((k) => /^pg\d+CorePct$/.test(k));
      const postgresCorePct = pgKeys.reduce((sum, k) => sum + (c[k] ?? 0), 0);
      const server = c[`${p.app.name}CorePct`];
      phase.cpu = {
        ...Object.fromEntries(Object.entries(c).filter(([k]) => !pgKeys.includes(k))),
        postgresCorePct,
        postgresBackends: backends.length,
        // CPU per request (µs): steadier than rps when other work competes for the cores.
        serverUsPerRequest:
          server === null || !phase.load.rps ? null : Math.round((server * 1e4) / phase.load.rps),
        postgresUsPerRequest: phase.load.rps ? Math.round((postgresCorePct * 1e4) / phase.load.rps) : null,
        // Everything else on the machine (other PostgreSQL processes, the worker, other people's work).
        otherCorePct:
          c.machineBusyPct === null || server === null
            ? null
            : Math.max(
                0,
                Math.round(
                  c.machineBusyPct * os.cpus().length -
                    server -
                    postgresCorePct -
                    (c.loadGeneratorCorePct ?? 0),
                ),
              ),
      };
      phasesOfRound[p.id] = phase;
    }
    rounds.push(phasesOfRound);
  }
  const phases = {};
  for (const p of PHASES) {
    const byRps = rounds.map((r) => r[p.id]).sort((a, b) => a.load.rps - b.load.rps);
    phases[p.id] = byRps[Math.floor((byRps.length - 1) / 2)];
  }
  // The SQL traces were taken in round 1.
  const traceOf = (id) => rounds[0][id].warmupProbe;
  const afterLoad = readMemoryKb(gateway.pid);
  const metricsAfter = await gatewayMetrics(gatewayPort);
  const gatewayLog = logLinesSince(gateway.logFile, gatewayLogOffset);
  const listAfter = await api('GET', paths.gatewayList);
  listCheck.totalItemsAfterLoad = listAfter.pagination.totalItems;
  listCheck.exactAfterLoad = listAfter.pagination.totalItems === (await exactCount(LIST_QUERY.status));

  const sqlCheck = trace
    ? {
        list: compareStatements(
          [PROJECT_BY_ID, listPageSql(LIST_QUERY), listCountSql(LIST_QUERY)],
          traceOf('gatewayList'),
          traceOf('bareList'),
        ),
        getById: compareStatements([TASK_BY_ID], traceOf('gatewayGetById'), traceOf('bareGet')),
        getByKey: compareStatements([TASK_BY_KEY], traceOf('gatewayGetByKey')),
      }
    : { skipped: 'BENCH_WARMUP=0: the statements are sampled during the warm-ups' };
  await trace?.close();

  // ---- 5. the plans of the list's queries (and of the others), same parameters ----------------------
  const plans = {
    listPage: await explain(db, 'list page', listPageSql(LIST_QUERY), [projectId, LIST_QUERY.status]),
    listCount: await explain(db, 'list total', listCountSql(LIST_QUERY), [projectId, LIST_QUERY.status]),
    projectLookup: await explain(db, 'project lookup', PROJECT_BY_ID, [projectId, adminId]),
    getById: await explain(db, 'task by id', TASK_BY_ID, [taskId, adminId]),
    getByKey: await explain(db, 'task by key', TASK_BY_KEY, [fixedKey, adminId]),
  };
  const anySeqScanOnTasks = Object.values(plans).some((p) => p.seqScanOnTasks);

  // ---- optional CPU profiles, one summary per measured window ------------------------------------------
  if (settings.cpuProfile) {
    say('stopping the gateway and the bare server with SIGUSR2 so that they write their CPU profiles');
    await Promise.all([gateway.stop('SIGUSR2', 15000), bare.stop('SIGUSR2', 15000)]);
    results.cpuProfiles = {};
    for (const p of PHASES) {
      const dir = join(sys.profileDir, p.app.name);
      const file = findCpuProfile(dir);
      const phase = phases[p.id];
      results.cpuProfiles[p.id] = file
        ? {
            ...summarizeCpuProfile(file, phase.window, 40, phase.load.totalRequests),
            window: phase.window,
          }
        : { error: `no .cpuprofile written in ${dir}` };
    }
  }

  // ---- report --------------------------------------------------------------------------------------------
  const L = (id) => phases[id].load;
  // A run with any non-2xx answer or connection error did not measure the endpoint (429s are cheap):
  // its targets fail, whatever its numbers.
  const invalid = (...ids) =>
    ids
      .filter((id) => L(id).non2xx > 0 || L(id).errors > 0)
      .map(
        (id) =>
          `${PHASES.find((p) => p.id === id).label}: ${L(id).non2xx} non-2xx ${JSON.stringify(L(id).statusCodes)}, ${L(id).errors} errors`,
      );
  const validOr = (pass, problems) => (problems.length ? false : pass);
  const ratios = {
    listRpsPct: pct(L('gatewayList').rps, L('bareList').rps),
    getByIdRpsPct: pct(L('gatewayGetById').rps, L('bareGet').rps),
    getByKeyRpsPct: pct(L('gatewayGetByKey').rps, L('bareGet').rps),
  };
  const listInvalid = invalid('gatewayList', 'bareList');
  const getInvalid = invalid('gatewayGetById', 'bareGet');
  const byKeyInvalid = invalid('gatewayGetByKey', 'bareGet');
  const targets = {
    getByIdRatio: {
      target: `GET /v2/tasks/{taskId} ${TARGETS.getRatioPct.label}`,
      value: ratios.getByIdRpsPct,
      pass: validOr(checkTarget(ratios.getByIdRpsPct, TARGETS.getRatioPct), getInvalid),
      invalidRuns: getInvalid,
    },
    listRatio: {
      target: `GET /v2/projects/{id}/tasks ${TARGETS.listRatioPct.label}`,
      value: ratios.listRpsPct,
      pass: validOr(checkTarget(ratios.listRpsPct, TARGETS.listRatioPct), listInvalid),
      invalidRuns: listInvalid,
    },
    listP99: {
      target: `GET /v2/projects/{id}/tasks ${TARGETS.listP99Ms.label}`,
      value: L('gatewayList').latencyMs.p99,
      pass: validOr(checkTarget(L('gatewayList').latencyMs.p99, TARGETS.listP99Ms), invalid('gatewayList')),
      invalidRuns: invalid('gatewayList'),
    },
  };
  const byKeyInfo = validOr(checkTarget(ratios.getByKeyRpsPct, TARGETS.getRatioPct), byKeyInvalid);
  const allInvalid = [...new Set([...listInvalid, ...getInvalid, ...byKeyInvalid])];
  const invalidMark = (problems) => (problems.length ? ' (non-2xx!)' : '');
  const row = (label, id, ratio, target, result) => {
    const l = L(id);
    return [
      label,
      fmt(l.rps),
      fmt(l.latencyMs.p50),
      fmt(l.latencyMs.p99),
      String(l.non2xx),
      `${l.errors} / ${l.timeouts}`,
      fmt(phases[id].cpu.otherCorePct, 0),
      ratio,
      target,
      result,
    ];
  };
  const table = toMarkdown([
    [
      'Scenario',
      'Requests/s',
      'p50 (ms)',
      'p99 (ms)',
      'Non-2xx',
      'Errors / timeouts',
      'Other CPU (% core)',
      'Gateway / bare (rps)',
      'Target',
      'Result',
    ],
    ['---', '--:', '--:', '--:', '--:', '--:', '--:', '--:', '---', '---'],
    row(
      `Gateway list \`GET /v2/projects/{id}/tasks?${listQs}\``,
      'gatewayList',
      `${fmt(ratios.listRpsPct)} % of bare list`,
      `${TARGETS.listRatioPct.label}; ${TARGETS.listP99Ms.label}`,
      `${passFail(targets.listRatio.pass)}; ${passFail(targets.listP99.pass)}${invalidMark(listInvalid)}`,
    ),
    row('Bare list (fastify + pg, same 3 queries)', 'bareList', '', '', ''),
    row(
      'Gateway get by id `GET /v2/tasks/{taskId}`',
      'gatewayGetById',
      `${fmt(ratios.getByIdRpsPct)} % of bare get`,
      TARGETS.getRatioPct.label,
      `${passFail(targets.getByIdRatio.pass)}${invalidMark(getInvalid)}`,
    ),
    row(
      `Gateway get by key \`GET /v2/tasks/${fixedKey}\``,
      'gatewayGetByKey',
      `${fmt(ratios.getByKeyRpsPct)} % of bare get`,
      `(info) ${TARGETS.getRatioPct.label}`,
      `(${passFail(byKeyInfo)})${invalidMark(byKeyInvalid)}`,
    ),
    row('Bare get by id (fastify + pg, same query)', 'bareGet', '', '', ''),
  ]);
  const planLines = Object.values(plans).map(
    (p) =>
      `  ${p.name.padEnd(14)} ${String(p.executionMs).padStart(7)} ms  ${p.scans.join(', ') || '(no scan node)'}` +
      (p.seqScanOnTasks ? '  <-- Seq Scan on tasks' : ''),
  );
  const sqlLine = (name, c) =>
    c.traced
      ? `${name}: ${c.same ? 'same statements' : 'DIFFERENT'}` +
        (c.missingInGateway.length ? `; the gateway did not send: ${c.missingInGateway.join(' | ')}` : '') +
        (c.gatewayExtraOnTaskTables.length
          ? `; the gateway also sent: ${c.gatewayExtraOnTaskTables.join(' | ')}`
          : '') +
        (c.missingInBare?.length ? `; the baseline did not send: ${c.missingInBare.join(' | ')}` : '') +
        (c.gatewayOtherStatements.length
          ? ` (the gateway also read ${tablesOf(c.gatewayOtherStatements).join(', ')}: its principal cache)`
          : '')
      : `${name}: not traced`;

  Object.assign(results, {
    phases,
    rounds: settings.rounds > 1 ? rounds : undefined,
    ratios,
    targets,
    invalidRuns: allInvalid,
    getByKeyInfo: { value: ratios.getByKeyRpsPct, pass: byKeyInfo, note: 'compared with the bare get by id' },
    gatewayRuntime: {
      before: metricsBefore,
      after: metricsAfter,
      rssAfterLoadMb: afterLoad.rssKb === null ? null : round(afterLoad.rssKb / 1024, 1),
      peakRssMb: afterLoad.hwmKb === null ? null : round(afterLoad.hwmKb / 1024, 1),
      logDuringLoad: gatewayLog,
    },
    sqlCheck,
    explain: { anySeqScanOnTasks, plans },
    table,
  });

  process.stdout.write(`\n${table}\n\n`);
  const cpuLine = (id) => {
    const c = phases[id].cpu;
    const server = c.gatewayCorePct ?? c.bareCorePct;
    return (
      `${PHASES.find((p) => p.id === id).label} ${server} % / PostgreSQL ${c.postgresCorePct} % (${c.postgresBackends} backends) / ` +
      `load generator ${c.loadGeneratorCorePct} % / everything else ${c.otherCorePct} % ` +
      `(per request: server ${c.serverUsPerRequest} µs, PostgreSQL ${c.postgresUsPerRequest} µs)`
    );
  };
  process.stdout.write(
    [
      `Gateway settings: ${sys.settingsLine}.`,
      `Load: autocannon, ${settings.connections} connections, ${settings.durationSeconds} s measured after ${settings.warmupSeconds} s warm-up, one target at a time, 127.0.0.1` +
        (settings.rounds > 1
          ? `; ${settings.rounds} rounds, each row is the target's median round by rps (rps of all rounds: ${PHASES.map((p) => `${p.label} ${rounds.map((r) => r[p.id].load.rps).join('/')}`).join(', ')}).`
          : '.'),
      `Data: project ${PROJECT_KEY} with ${API_TASKS} API-created + ${seed.seeded} seeded tasks (20 % per status), seeded in ${round(seed.totalMs / 1000, 1)} s; invariants hold; ` +
        `API totals exact: ${totalsExact}; list totalItems ${listCheck.totalItems} = count(*) ${listCheck.countStar} (after the load: ${listCheck.exactAfterLoad}).`,
      `Bodies identical: list ${bodies.list.match}, get by id ${bodies.getById.match}, get by key ${bodies.getByKey.match}.`,
      `Status codes: ${PHASES.map((p) => `${p.label} ${JSON.stringify(L(p.id).statusCodes)}`).join(', ')}.` +
        (allInvalid.length
          ? ` WARNING: runs with non-2xx answers or errors do not measure the endpoint and fail their targets: ${allInvalid.join('; ')}` +
            (allInvalid.some((x) => x.includes('"429"'))
              ? ' (429: the gateway rate-limited the load; raise its limits with BENCH_GATEWAY_ENV).'
              : '.')
          : ''),
      `CPU during the measured runs (% of one core, ${os.cpus().length} cores in all: server / its PostgreSQL backends / load generator / everything else): ${PHASES.map((p) => cpuLine(p.id)).join('; ')}.`,
      `Gateway runtime (GET /metrics) before the first warm-up -> after the last run: ${describeMetrics(metricsBefore, metricsAfter)}.`,
      `Gateway log lines (warn and above) during the runs: ${gatewayLog.lines}${gatewayLog.samples.length ? `, e.g. ${gatewayLog.samples.join(' | ')}` : ''}.`,
      `SQL sent (pg_stat_activity during the warm-ups) vs the baseline's: ${
        trace
          ? [
              sqlLine('list', sqlCheck.list),
              sqlLine('get by id', sqlCheck.getById),
              sqlLine('get by key (gateway only)', sqlCheck.getByKey),
            ].join('; ')
          : sqlCheck.skipped
      }.`,
      `EXPLAIN (ANALYZE, BUFFERS), same parameters (execution time, scans); Seq Scan on tasks in any plan: ${anySeqScanOnTasks ? 'YES' : 'no'}:`,
      ...planLines,
    ].join('\n') + '\n',
  );
  for (const key of ['listPage', 'listCount'])
    process.stdout.write(`\n${plans[key].name}:\n${plans[key].plan}\n`);
  for (const [id, p] of Object.entries(results.cpuProfiles ?? {}))
    process.stdout.write(formatCpuProfile(PHASES.find((x) => x.id === id).label, p, 15));

  clearTimeout(watchdog);
  const problems = await runCleanup();
  results.cleanup = { ...cleanupReport, problems };
  say(
    `cleaned up: processes stopped, database dropped: ${cleanupReport.databaseDropped}, ` +
      `Redis keys deleted: ${cleanupReport.redis?.deleted} (remaining ${cleanupReport.redis?.remaining})`,
  );
  const file = writeResults(RESULTS_DIR, filePrefix, results);
  say(`results written to ${file}`);
  const failed = Object.values(targets).some((t) => t.pass === false);
  return settings.failOnTarget && failed ? 3 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`\nbenchmark failed: ${errorMessage(err)}\n`);
    runCleanup().finally(() => process.exit(1));
  },
);
