#!/usr/bin/env node
'use strict';
// Gateway benchmark: GET /v2/users/{userId} through the compiled gateway versus a bare
// Fastify + pg server running the same query, plus the gateway's start-to-ready time and idle
// RSS. See bench/README.md. Needs `npx nest build` first; PostgreSQL and Redis on 127.0.0.1.
const { randomBytes } = require('node:crypto');
const { mkdirSync } = require('node:fs');
const os = require('node:os');
const { join } = require('node:path');
const { installHandlers, runCleanup } = require('./lib/cleanup');
const { readSettings } = require('./lib/config');
const { findCpuProfile, formatCpuProfile, summarizeCpuProfile } = require('./lib/cpu-profile');
const { describeMetrics, errorMessage, fileSize, gatewayMetrics, logLinesSince } = require('./lib/gateway');
const { loadPhase } = require('./lib/load');
const { killAllNow } = require('./lib/processes');
const { evaluateTargets, markdownTable, pct, writeResults } = require('./lib/report');
const { requireBuild, startSystem } = require('./lib/system');
const { gitDescribe, readMemoryKb, request, round } = require('./lib/util');

const ROOT = join(__dirname, '..');
const RESULTS_DIR = join(__dirname, 'results');

const settings = readSettings();

const say = (msg) => process.stdout.write(`[bench] ${msg}\n`);

async function main() {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const tag = randomBytes(4).toString('hex');
  requireBuild();
  mkdirSync(RESULTS_DIR, { recursive: true });

  installHandlers(killAllNow);
  // Hard limit on the whole run (every wait inside has its own, shorter, limit).
  const budgetMs =
    3 * settings.startTimeoutMs + 4 * (settings.durationSeconds + settings.warmupSeconds) * 1000 + 60000;
  const watchdog = setTimeout(() => {
    process.stderr.write(`\nbenchmark exceeded its ${budgetMs} ms budget: stopping\n`);
    runCleanup().finally(() => process.exit(1));
  }, budgetMs);

  const results = {
    timestamp: new Date().toISOString(),
    commit: gitDescribe(ROOT),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? null,
      memoryMb: Math.round(os.totalmem() / 2 ** 20),
      loadAvgAtStart: os.loadavg().map((n) => round(n, 2)),
      node: process.version,
    },
    settings: { ...settings },
  };

  // Database, Redis prefix, gateway (timed to ready), worker, idle RSS, admin token; every step
  // registers its cleanup (lib/system.js).
  const sys = await startSystem({
    settings,
    tag,
    resultsDir: RESULTS_DIR,
    filePrefix: stamp,
    say,
    bareScript: join(__dirname, 'bare-server.js'),
    // The rate limiter stays on (its work is part of the gateway's cost) with the bootstrap admin's
    // enterprise limits out of reach; otherwise 50 connections would mostly measure 429s.
    appEnvDefaults: {
      RATE_LIMIT_ENTERPRISE_PER_MINUTE: '1000000000',
      RATE_LIMIT_ENTERPRISE_PER_HOUR: '1000000000',
      RATE_LIMIT_ENTERPRISE_CONCURRENT: '1000000',
    },
    appEnvDefaultsNote: 'enterprise rate limits raised out of reach (RATE_LIMIT_ENTERPRISE_*, limiter on)',
  });
  const { gateway, bare, cleanupReport, settingsLine, startToReadyMs, startToHealthReadyMs, idleRssMb } = sys;
  const { profileDir, auth } = sys;
  const { gateway: gatewayPort, bare: barePort } = sys.ports;
  results.gatewaySettings = sys.gatewaySettings;

  // ---- the user to read ---------------------------------------------------------------------------
  const username = `bench_${tag}`;
  const created = await request(gatewayPort, 'POST', '/v2/users', {
    headers: auth,
    body: {
      username,
      email: `${username}@example.com`,
      password: `Passw0rd${tag}`,
      fullName: 'Bench Reader',
      department: 'Benchmarks',
    },
  });
  if (created.status !== 201) throw new Error(`user creation failed: ${created.status} ${created.text}`);
  const userId = created.json.id;
  say(`admin token obtained; user ${userId} created`);

  // ---- baseline server and a correctness check: both must answer the same body ----------------------
  bare.start();
  await bare.waitFor('/health', settings.startTimeoutMs);
  const gatewayPath = `/v2/users/${encodeURIComponent(userId)}`;
  const barePath = `/users/${encodeURIComponent(userId)}`;
  const [gOne, bOne] = [
    await request(gatewayPort, 'GET', gatewayPath, { headers: auth }),
    await request(barePort, 'GET', barePath),
  ];
  if (gOne.status !== 200) throw new Error(`GET ${gatewayPath} answered ${gOne.status}: ${gOne.text}`);
  if (bOne.status !== 200) throw new Error(`GET ${barePath} answered ${bOne.status}: ${bOne.text}`);
  const bodiesMatch = JSON.stringify(gOne.json) === JSON.stringify(bOne.json);
  if (!bodiesMatch) say(`WARNING: bodies differ\n  gateway: ${gOne.text}\n  bare:    ${bOne.text}`);
  results.responseCheck = {
    bodiesMatch,
    gatewayBytes: gOne.text.length,
    bareBytes: bOne.text.length,
    gatewayHeaders: Object.keys(gOne.headers),
  };

  // ---- load: the gateway, then the baseline (never both at once) ---------------------------------
  const gatewayLogOffset = fileSize(gateway.logFile);
  const metricsBefore = await gatewayMetrics(gatewayPort);
  const g = await loadPhase(
    'gateway',
    gateway,
    {
      port: gatewayPort,
      path: gatewayPath,
      headers: auth,
      pids: { gateway: gateway.pid, loadGenerator: process.pid },
    },
    { settings, say },
  );
  const afterLoad = readMemoryKb(gateway.pid);
  const metricsAfter = await gatewayMetrics(gatewayPort);
  const gatewayLog = logLinesSince(gateway.logFile, gatewayLogOffset);
  const b = await loadPhase(
    'bare',
    bare,
    {
      port: barePort,
      path: barePath,
      headers: {},
      pids: { bare: bare.pid, loadGenerator: process.pid },
    },
    { settings, say },
  );

  const rpsRatioPct = pct(g.load.rps, b.load.rps);
  Object.assign(results, {
    gateway: {
      startToReadyMs: round(startToReadyMs, 0),
      startToHealthReadyMs: round(startToHealthReadyMs, 0),
      idleRssMb,
      rssAfterLoadMb: afterLoad.rssKb === null ? null : round(afterLoad.rssKb / 1024, 1),
      peakRssMb: afterLoad.hwmKb === null ? null : round(afterLoad.hwmKb / 1024, 1),
      rssDuringLoadMb: g.rssMb,
      runtimeBeforeLoad: metricsBefore,
      runtimeAfterLoad: metricsAfter,
      load: g.load,
      cpuDuringLoad: g.cpu,
      logDuringLoad: gatewayLog,
    },
    bare: { load: b.load, cpuDuringLoad: b.cpu, rssDuringLoadMb: b.rssMb },
    rpsRatioPct,
  });
  results.targets = evaluateTargets({
    rpsRatioPct,
    gatewayP99Ms: g.load.latencyMs.p99,
    idleRssMb,
    startToReadyMs: results.gateway.startToReadyMs,
  });

  // ---- optional CPU profiles (gateway and baseline) ----------------------------------------------
  if (settings.cpuProfile) {
    say('stopping the gateway and the bare server with SIGUSR2 so that they write their CPU profiles');
    await Promise.all([gateway.stop('SIGUSR2', 15000), bare.stop('SIGUSR2', 15000)]);
    results.cpuProfiles = {};
    for (const [name, phase] of [
      ['gateway', g],
      ['bare', b],
    ]) {
      const dir = join(profileDir, name);
      const file = findCpuProfile(dir);
      results.cpuProfiles[name] = file
        ? {
            ...summarizeCpuProfile(file, phase.window, 40, phase.load.totalRequests),
            window: phase.window,
          }
        : { error: `no .cpuprofile written in ${dir}` };
    }
  }

  // ---- report --------------------------------------------------------------------------------------
  const table = markdownTable(results);
  results.table = table;
  process.stdout.write(`\n${table}\n\n`);
  process.stdout.write(
    [
      `Gateway settings: ${settingsLine}.`,
      `Load: autocannon, ${settings.connections} connections, ${settings.durationSeconds} s measured after ${settings.warmupSeconds} s warm-up, one target at a time, 127.0.0.1.`,
      `Start-to-ready: spawn to first 200 on /health/live (fresh database, migrations included); /health/ready after ${results.gateway.startToHealthReadyMs} ms.`,
      `CPU during the gateway run: gateway ${g.cpu.gatewayCorePct} % of a core, load generator ${g.cpu.loadGeneratorCorePct} %, machine ${g.cpu.machineBusyPct} % busy (${os.cpus().length} cores).`,
      `CPU during the bare run:    bare ${b.cpu.bareCorePct} % of a core, load generator ${b.cpu.loadGeneratorCorePct} %, machine ${b.cpu.machineBusyPct} % busy.`,
      `Gateway RSS: idle ${idleRssMb} MB, after load ${results.gateway.rssAfterLoadMb} MB (peak ${results.gateway.peakRssMb} MB); ` +
        `during the run (1/s): ${g.rssMb.join(', ')}.`,
      `Gateway runtime (GET /metrics) before the warm-up -> after the measured run: ${describeMetrics(metricsBefore, metricsAfter)}.`,
      `Status codes: gateway ${JSON.stringify(g.load.statusCodes)}, bare ${JSON.stringify(b.load.statusCodes)}; bodies identical: ${bodiesMatch}.`,
      `Gateway log lines (warn and above) during the run: ${gatewayLog.lines}${gatewayLog.samples.length ? `, e.g. ${gatewayLog.samples.join(' | ')}` : ''}.`,
    ].join('\n') + '\n',
  );
  for (const [name, p] of Object.entries(results.cpuProfiles ?? {}))
    process.stdout.write(formatCpuProfile(name, p));

  clearTimeout(watchdog);
  const problems = await runCleanup();
  results.cleanup = { ...cleanupReport, problems };
  say(
    `cleaned up: processes stopped, database dropped: ${cleanupReport.databaseDropped}, ` +
      `Redis keys deleted: ${cleanupReport.redis?.deleted} (remaining ${cleanupReport.redis?.remaining})`,
  );
  const file = writeResults(RESULTS_DIR, stamp, results);
  say(`results written to ${file}`);
  const failed = Object.values(results.targets).some((t) => t.pass === false);
  return settings.failOnTarget && failed ? 3 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`\nbenchmark failed: ${errorMessage(err)}\n`);
    runCleanup().finally(() => process.exit(1));
  },
);
