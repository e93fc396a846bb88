#!/usr/bin/env node
'use strict';
// Code agents benchmark (issue 15): BENCH_CODE_ACTIVATIONS (20) backend activations with the
// claude-code provider on a file:// repository, two workers, against the fake Messages API of
// test/support (streaming, BENCH_MODEL_DELAY_MS = 200 ms before each answer), each session scripted
// to 4 tool turns (Write, Write, Bash, Read) and a final answer; a trivial pipeline builds each
// branch. It reports the wall time and, per activation, where the time went: the workspace step
// (sandboxed clone), the session step split into Claude Code's own duration (its model calls and
// tools, from its result message) and the rest (sandbox and CLI start, commit, push, opening the
// change), the build; and the cost of an empty sandbox. Needs `npx nest build`, PostgreSQL and
// Redis on 127.0.0.1, bubblewrap, and the SDK's CLI (@anthropic-ai/claude-agent-sdk-linux-x64).
require('ts-node').register({ transpileOnly: true, compilerOptions: { module: 'commonjs' } });
const { mkdirSync } = require('node:fs');
const { join } = require('node:path');
const { FakeAnthropic } = require('../test/support/fake-anthropic');
const { onCleanup, runBench } = require('./lib/cleanup');
const { killAllNow } = require('./lib/processes');
const { writeResults } = require('./lib/report');
const { stats, startOnRepository, tempRepository, waitAllDone } = require('./lib/repository-project');
const { round } = require('./lib/util');

const RESULTS_DIR = join(__dirname, 'results');
const int = (name, fallback) => (process.env[name] ? Number(process.env[name]) : fallback);
const settings = {
  activations: int('BENCH_CODE_ACTIVATIONS', 20),
  modelDelayMs: int('BENCH_MODEL_DELAY_MS', 200),
  workers: int('BENCH_WORKERS', 2),
  sandboxRuns: int('BENCH_SANDBOX_RUNS', 20),
  /** Activations a worker runs at once (AGENTS_CONCURRENCY): 1 paces them, one a core. */
  perWorker: int('BENCH_AGENTS_CONCURRENCY', 100),
  timeoutMs: int('BENCH_TIMEOUT_MS', 300000),
};
const say = (m) => process.stdout.write(`[bench:code-agents] ${m}\n`);

/** Each session's turns, by how far its conversation is: 4 tool calls, then the answer. */
const SCRIPT = [
  {
    toolUse: {
      name: 'Write',
      input: { file_path: '/workspace/src/src/feature.js', content: 'module.exports = 1;\n' },
    },
  },
  {
    toolUse: {
      name: 'Write',
      input: {
        file_path: '/workspace/src/test/feature.test.js',
        content:
          "require('node:test')('feature', () => require('node:assert').strictEqual(require('../src/feature.js'), 1));\n",
      },
    },
  },
  { toolUse: { name: 'Bash', input: { command: 'node --test test/ 2>&1 | tail -2' } } },
  { toolUse: { name: 'Read', input: { file_path: '/workspace/src/src/feature.js' } } },
  { text: 'Added the feature with a test.', end: true },
];

/** An empty sandbox (`true`), as every step of an activation starts several: its start-up cost. */
async function sandboxCost(root) {
  const { loadConfig } = require('../dist/libs/core/src');
  const { Sandbox } = require('../dist/libs/runner/src');
  const config = loadConfig(
    { NODE_ENV: 'test', WORKSPACES_ROOT: join(root, 'probe'), LOG_LEVEL: 'error' },
    'worker',
  );
  const sandbox = new Sandbox(config);
  await sandbox.init();
  const ws = join(root, 'probe', 'ws');
  mkdirSync(join(ws, 'home'), { recursive: true });
  await sandbox.own(ws, join(ws, 'home'));
  const times = [];
  for (let i = 0; i < settings.sandboxRuns; i++) {
    const t0 = process.hrtime.bigint();
    const r = await sandbox.run({
      argv: ['true'],
      workspace: ws,
      env: {},
      timeoutMs: 10000,
      onOutput: () => undefined,
      jobId: 'bench',
    });
    if (r.outcome !== 'exited' || r.exitCode !== 0)
      throw new Error(`sandbox probe failed: ${JSON.stringify(r)}`);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  await sandbox.onApplicationShutdown();
  return stats(times);
}

async function main(stamp) {
  const { root, url } = tempRepository('cocode-bench-code-');

  const fake = new FakeAnthropic();
  fake.streamDelayMs = settings.modelDelayMs;
  fake.turnFor = (body) =>
    SCRIPT[Math.min(SCRIPT.length - 1, body.messages.filter((m) => m.role === 'assistant').length)];
  await fake.start();
  onCleanup('fake anthropic', () => fake.stop());

  const { call, pg, tasks } = await startOnRepository({
    name: 'code',
    resultsDir: RESULTS_DIR,
    stamp,
    workers: settings.workers,
    root,
    url,
    tasks: settings.activations,
    env: {
      ANTHROPIC_API_KEY: 'sk-ant-bench-key',
      ANTHROPIC_BASE_URL: fake.url,
      AGENTS_CONCURRENCY: String(settings.perWorker),
    },
  });

  say(
    `${settings.activations} claude-code activations, ${settings.workers} workers, ${settings.modelDelayMs} ms per model call`,
  );
  const started = Date.now();
  const ids = await Promise.all(
    tasks.map((t) =>
      call(
        'POST',
        '/v2/agents/backend/activate',
        { taskId: t.id, input: {}, config: { provider: 'claude-code' } },
        202,
      ).then((b) => b.activationId),
    ),
  );
  await waitAllDone(
    pg,
    `SELECT count(*) FILTER (WHERE status NOT IN ('queued', 'processing'))::int AS done FROM agent_activations WHERE id = ANY($1)`,
    ids,
    settings.timeoutMs,
    'activations',
  );
  const { rows } = await pg.query(
    `SELECT a.id, a.status, a.error, a.completed_at, a.files,
            (SELECT json_agg(json_build_object('key', e.data->>'key', 'status', e.data->>'status', 'at', e.created_at) ORDER BY e.id)
               FROM agent_activation_events e WHERE e.activation_id = a.id AND e.type = 'step') AS steps
       FROM agent_activations a WHERE a.id = ANY($1)`,
    [ids],
  );
  const wallMs = Math.max(...rows.map((r) => new Date(r.completed_at).getTime())) - started;
  const failed = rows.filter((r) => r.status !== 'completed');
  const span = (r, key) => {
    const s = r.steps.find((x) => x.key === key && x.status === 'in_progress');
    const e = r.steps.find((x) => x.key === key && x.status === 'completed');
    return s && e ? new Date(e.at).getTime() - new Date(s.at).getTime() : NaN;
  };
  const stepAt = (r, key, status) => {
    const e = r.steps.find((x) => x.key === key && x.status === status);
    return e ? new Date(e.at).getTime() : NaN;
  };
  const per = rows
    .filter((r) => r.status === 'completed')
    .map((r) => {
      const messages = ((r.files ?? []).find((f) => f.name === 'transcript.jsonl')?.content ?? '')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
      const init = messages.find((m) => m.type === 'system' && m.subtype === 'init');
      const result = messages.find((m) => m.type === 'result');
      const session = span(r, 'session');
      const cli = result?.duration_ms ?? NaN;
      // The CLI stamps its messages (written_at): its start and its end as the worker's clock sees them.
      const boot = new Date(init?.written_at).getTime() - stepAt(r, 'session', 'in_progress');
      const after = stepAt(r, 'session', 'completed') - new Date(result?.written_at).getTime();
      const workspace = span(r, 'workspace');
      const change = span(r, 'change');
      return {
        workspace,
        session,
        boot,
        cli,
        cliApi: result?.duration_api_ms ?? NaN,
        after,
        build: span(r, 'build'),
        change,
        overhead: workspace + after + change,
      };
    });
  const col = (k) => stats(per.map((p) => p[k]));
  say('empty sandboxes');
  const sandbox = await sandboxCost(root);
  const result = {
    settings,
    wallSeconds: round(wallMs / 1000, 2),
    completed: per.length,
    failed: failed.map((r) => `${r.id}: ${r.status} ${r.error}`),
    modelCalls: fake.streamed.length,
    perActivationMs: {
      workspace: col('workspace'),
      session: col('session'),
      claudeCodeStart: col('boot'),
      claudeCodeOwn: col('cli'),
      claudeCodeModel: col('cliApi'),
      commitPushChange: col('after'),
      build: col('build'),
      change: col('change'),
      platformOverhead: col('overhead'),
    },
    emptySandboxMs: sandbox,
  };
  const m = result.perActivationMs;
  const line = (label, s) => `| ${label} | ${s.mean} | ${s.p50} | ${s.p95} |`;
  const table = [
    `${per.length}/${settings.activations} completed in ${result.wallSeconds} s (${settings.workers} workers, at most ${settings.perWorker} activations each at once); ${result.modelCalls} model calls of ${settings.modelDelayMs} ms.`,
    '',
    '| Per activation (ms) | mean | p50 | p95 |',
    '| --- | --: | --: | --: |',
    line('workspace step (sandboxed clone, branch)', m.workspace),
    line('session step', m.session),
    line('- a session slot (AGENTS_CODE_SESSIONS), sandbox, Claude Code start', m.claudeCodeStart),
    line("- Claude Code's session (its duration_ms)", m.claudeCodeOwn),
    line('  - of which model calls (its duration_api_ms)', m.claudeCodeModel),
    line('- commit, push, open the change (after its result)', m.commitPushChange),
    line('build step (trigger, queue, run, wait)', m.build),
    line('change step', m.change),
    line('platform overhead = workspace + commit/push/change + change step', m.platformOverhead),
    line('an empty sandbox (`true`), sequential', sandbox),
    '',
    `Target: platform overhead < 1500 ms -> ${m.platformOverhead.mean < 1500 ? 'PASS' : 'FAIL'} (mean ${m.platformOverhead.mean} ms; Claude Code's own start is listed apart).`,
  ].join('\n');
  process.stdout.write(`\n${table}\n\n`);
  if (failed.length) process.stdout.write(`failed: ${result.failed.join('\n')}\n`);
  writeResults(RESULTS_DIR, `code-agents-${stamp}`, { ...result, table });
}

runBench(main, { hardKill: killAllNow, resultsDir: RESULTS_DIR });
