import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { turns, withClaudeCode } from '../support/claude-code';
import { FakeAnthropic } from '../support/fake-anthropic';
import { bareGit, GitRepo } from '../support/git-repo';
import { Receiver } from '../support/receiver';
import { eventually, TestSystem } from '../support/system';
import { sandboxTmpDir } from '../support/env';

/** The worker's key: only the relay outside the sandbox has it. */
const KEY = 'sk-ant-api03-codeagentskey0123456789';

const withCli = withClaudeCode('code-agents e2e');

const SUM = 'module.exports = (a, b) => a + b;\n';
const BROKEN_SUM = 'module.exports = (a, b) => a - b;\n';
const SUM_TEST = [
  "const test = require('node:test');",
  "const assert = require('node:assert');",
  "const sum = require('../src/sum.js');",
  "test('sum adds', () => assert.strictEqual(sum(2, 3), 5));",
  '',
].join('\n');

const MUL_TEST = SUM_TEST.replace(/sum/g, 'mul').replace('(2, 3), 5', '(2, 3), 6');

const { write, read, bash, end } = turns;

type Activation = {
  status: string;
  output: {
    change: {
      changeId: string;
      branch: string;
      headSha: string;
      buildId: string;
      buildStatus: string;
    } | null;
    summary: string | null;
    repairRounds: number;
    provider: string;
    attachments: Array<{ name: string; url: string }>;
  } | null;
  metrics: Record<string, unknown>;
  error?: string;
};

describe('code agents: a session on the repository, a change, a real build, repairs', () => {
  jest.setTimeout(180_000);
  const tmp = sandboxTmpDir('cocode-code-agents-e2e-');
  const work = new GitRepo(join(tmp, 'work'));
  const originDir = join(tmp, 'origin.git');
  const origin = `file://${originDir}`;
  const fake = new FakeAnthropic();
  const receiver = new Receiver();
  let system: TestSystem;
  let admin: string;
  let developer: { id: string; token: string };
  let viewer: { id: string; token: string };
  let outsider: { id: string; token: string };
  let outsiderViewer: { id: string; token: string };
  let project: { id: string };

  /** The origin's view of a ref. */
  const originGit = bareGit(originDir, tmp);

  beforeAll(async () => {
    work.commit('base', { 'README.md': '# demo\n', 'package.json': '{ "name": "demo", "private": true }\n' });
    work.publishBare(originDir);
    await fake.start();
    await receiver.start();
    system = await TestSystem.start({
      env: {
        WORKSPACES_ROOT: join(tmp, 'workspaces'),
        ANTHROPIC_API_KEY: KEY,
        ANTHROPIC_BASE_URL: fake.url,
        AGENTS_LEASE_MS: '2000',
        WEBHOOKS_ALLOW_PRIVATE: 'true',
      },
    });
    admin = await system.adminToken();
    [developer, viewer, outsider, outsiderViewer] = await system.users(
      'developer',
      'viewer',
      'developer',
      'viewer',
    );
    project = await system.project({
      key: 'CODE',
      ownerId: developer.id,
      members: [viewer.id],
      visibility: 'private',
    });
    await system.repository(admin, project.id, origin, {
      // The test stage writes a JUnit report, kept as an artifact even when the build fails.
      stages: [
        {
          name: 'test',
          commands: [
            'mkdir -p reports',
            'if [ -d test ]; then node --test --test-reporter=spec --test-reporter-destination=stdout --test-reporter=junit --test-reporter-destination=reports/junit.xml test/; fi',
          ],
        },
      ],
      artifacts: ['reports/*.xml'],
    });
    await system
      .as(admin)
      .post('/v2/webhooks', {
        url: receiver.url('/code'),
        events: ['change.opened', 'change.merged'],
        projectId: project.id,
      })
      .expect(201);
  });
  afterAll(async () => {
    await system?.stop();
    await fake.stop();
    await receiver.stop();
    rmSync(tmp, { recursive: true, force: true });
  });
  beforeEach(() => {
    fake.turns.length = 0;
  });

  const as = (token: string) => system.as(token);
  const newTask = async (title: string) => {
    const res = await as(developer.token)
      .post(`/v2/projects/${project.id}/tasks`, {
        title,
        description: `Implement ${title}`,
        type: 'story',
        priority: 'medium',
      })
      .expect(201);
    return res.body as { id: string; key: string };
  };
  const activate = async (taskId: string, config: Record<string, unknown>, agent = 'backend') =>
    (
      await as(developer.token)
        .post(`/v2/agents/${agent}/activate`, {
          taskId,
          input: { acceptanceCriteria: ['sum(2, 3) is 5'] },
          config,
        })
        .expect(202)
    ).body.activationId as string;
  const finished = (id: string, timeoutMs = 120_000) =>
    eventually(async () => {
      const p = (await as(developer.token).get(`/v2/agents/activations/${id}/progress`).expect(200)).body;
      if (['queued', 'processing'].includes(p.status)) return null;
      return (await as(developer.token).get(`/v2/agents/activations/${id}/result`).expect(200))
        .body as Activation;
    }, timeoutMs);
  const change = async (id: string) => (await as(admin).get(`/v2/changes/${id}`).expect(200)).body;
  const diff = async (id: string) => (await as(admin).get(`/v2/changes/${id}/diff`).expect(200)).text;
  const attachment = async (a: Activation, name: string) => {
    const url = a.output!.attachments.find((x) => x.name === name)!.url;
    return (await as(developer.token).get(new URL(url).pathname).expect(200)).text;
  };

  it('offline: the template provider writes its plan on a branch, opens a change and builds it green', async () => {
    const task = await newTask('template plan');
    const id = await activate(task.id, { provider: 'template' });
    const a = await finished(id);
    expect(a.status).toBe('completed');
    expect(a.metrics.model).toBe('template');
    const c = a.output!.change!;
    expect(c.branch).toBe(`cocode/${task.key}-backend-1`);
    expect(c.buildStatus).toBe('success');
    expect(originGit('rev-parse', `refs/heads/${c.branch}`)).toBe(c.headSha);
    const ch = await change(c.changeId);
    expect(ch).toEqual(expect.objectContaining({ status: 'open', taskId: task.id, activationId: id }));
    expect(ch.commits[0].author).toBe('backend agent <agents@cocode.local>');
    expect(ch.commits[0].message).toContain(`Activation: ${id}`);
    expect(await diff(c.changeId)).toContain(`+++ b/docs/cocode/${task.key}-backend.md`);
    // The base branch is untouched until a merge.
    expect(originGit('ls-tree', '--name-only', '-r', 'main')).not.toContain('docs/');
  });

  let green: { changeId: string; headSha: string };

  withCli(
    'claude-code writes src/sum.js and its test; the build is green; the key never enters the sandbox',
    async () => {
      const task = await newTask('sum');
      fake.turns.push(
        write('src/sum.js', SUM),
        write('test/sum.test.js', SUM_TEST),
        bash(
          'node --test test/ 2>&1 | tail -3; env | grep ANTHROPIC; cat /proc/*/environ 2>/dev/null | tr "\\0" "\\n" | grep -c api03 || true',
        ),
        end('Added sum with a test.'),
      );
      const id = await activate(task.id, { provider: 'claude-code' });
      const a = await finished(id);
      expect(a.error).toBeUndefined();
      expect(a.status).toBe('completed');
      const c = a.output!.change!;
      expect(c.buildStatus).toBe('success');
      expect(a.output!.summary).toBe('Added sum with a test.');
      expect(a.metrics).toEqual(
        expect.objectContaining({
          numTurns: 4,
          inputTokens: 400,
          outputTokens: 200,
          costUsd: expect.any(Number),
        }),
      );
      expect(a.metrics.costUsd as number).toBeGreaterThan(0);
      const d = await diff(c.changeId);
      expect(d).toContain('+++ b/src/sum.js');
      expect(d).toContain('+++ b/test/sum.test.js');
      // The fake API saw the real key from the relay; inside, the session saw a placeholder only.
      expect(fake.calls.length).toBeGreaterThanOrEqual(4);
      expect(new Set(fake.calls.map((x) => x.headers['x-api-key']))).toEqual(new Set([KEY]));
      const transcript = await attachment(a, 'transcript.jsonl');
      expect(transcript).toContain('ANTHROPIC_API_KEY=sk-ant-relay-placeholder');
      expect(transcript).not.toContain(KEY);
      // Nothing in the sandbox's processes holds the key (grep -c counts 0).
      expect(transcript).toContain('ANTHROPIC_BASE_URL=http://127.0.0.1:17480\\n0"');
      // The prompt carried the task and its acceptance criteria.
      const first = JSON.stringify(fake.streamed[0].body.messages);
      expect(first).toContain(`${task.key}: sum`);
      expect(first).toContain('sum(2, 3) is 5');
      // Events: the tool calls, the steps.
      const events = (await as(developer.token).get(`/v2/agents/activations/${id}/progress`).expect(200))
        .body;
      expect(events.logs.map((l: { message: string }) => l.message)).toEqual(
        expect.arrayContaining([
          'Write /workspace/src/src/sum.js',
          'Bash node --test test/ 2>&1 | tail -3; env | grep ANTHROPIC; cat /proc/*/environ 2>/dev/null | tr "\\0" "\\n" | grep -c api03 || true',
        ]),
      );
      expect(events.steps.map((s: { name: string; status: string }) => s.status)).toEqual([
        'completed',
        'completed',
        'completed',
        'completed',
      ]);
      green = { changeId: c.changeId, headSha: c.headSha };
    },
  );

  withCli(
    'a broken first attempt is repaired in round 1 with the failing log, then merged (autoMerge)',
    async () => {
      const task = await newTask('sum repaired');
      fake.turns.push(
        write('src/sum.js', BROKEN_SUM),
        write('test/sum.test.js', SUM_TEST),
        end('first attempt'),
        // A new session must read a file before it may write it.
        read('src/sum.js'),
        write('src/sum.js', SUM),
        end('fixed'),
      );
      const before = fake.streamed.length;
      const id = await activate(task.id, { provider: 'claude-code', autoMerge: true });
      const a = await finished(id);
      if (a.status !== 'completed')
        console.log(a.error, JSON.stringify(fake.served.slice(-8)), fake.turns.length);
      expect(a.status).toBe('completed');
      expect(a.output!.repairRounds).toBe(1);
      const repairCall = JSON.stringify(fake.streamed[before + 3].body.messages[0]);
      expect(repairCall).toContain('repair round 1 of 2');
      expect(repairCall).toContain('sum adds');
      expect(repairCall).toContain('Failed tests (JUnit, 1):');
      const c = await eventually(async () => {
        const x = await change(a.output!.change!.changeId);
        return x.status === 'merged' ? x : null;
      }, 60_000);
      expect(c.commits).toHaveLength(2);
      expect(originGit('rev-parse', 'refs/heads/main')).toBe(c.headSha);
      const merged = await eventually(async () =>
        receiver.at('/code').find((r) => JSON.parse(r.body).type === 'change.merged'),
      );
      expect(JSON.parse(merged.body).data.change.id).toBe(c.id);
    },
  );

  withCli(
    'a script that never passes fails after the repair rounds; the change stays open and cannot be merged',
    async () => {
      const task = await newTask('never green');
      // (The base branch has sum.js by now: the repaired change was merged.)
      fake.turns.push(
        write('src/mul.js', 'module.exports = (a, b) => a + b;\n'),
        write('test/mul.test.js', MUL_TEST),
        end('attempt'),
        read('src/mul.js'),
        write('src/mul.js', 'module.exports = (a, b) => a - b;\n'),
        end('attempt 2'),
      );
      const id = await activate(task.id, { provider: 'claude-code', repairRounds: 1 });
      const a = await finished(id);
      expect(a.status).toBe('failed');
      expect(a.error).toMatch(/failed after 1 repair round/);
      const c = await change(a.output!.change!.changeId);
      expect(c.status).toBe('open');
      expect(c.buildStatus).toBe('failed');
      const refused = await as(developer.token).post(`/v2/changes/${c.id}/merge`, {}).expect(409);
      expect(refused.body.error.message).toMatch(/failed, not success/);
      // The green change of the first session merges.
      if (green) {
        await as(developer.token).post(`/v2/changes/${green.changeId}/merge`, {}).expect(202);
      }
    },
  );

  withCli('config.budget.maxTurns stops the session: budget_exceeded', async () => {
    const task = await newTask('over budget');
    fake.turns.push(write('src/a.js', '1\n'), write('src/b.js', '2\n'), write('src/c.js', '3\n'), end('x'));
    const id = await activate(task.id, { provider: 'claude-code', budget: { maxTurns: 1 } });
    const a = await finished(id);
    expect(a.status).toBe('budget_exceeded');
    expect(a.error).toMatch(/turns/);
  });

  withCli('cancel mid-session kills the whole sandbox at once', async () => {
    const task = await newTask('cancelled');
    // (Claude Code refuses a plain long sleep.)
    fake.turns.push(bash('node -e "setTimeout(() => {}, 3131000)"'), end('never'));
    const id = await activate(task.id, { provider: 'claude-code' });
    await eventually(async () => (sleeping() > 0 ? true : null), 60_000);
    await as(developer.token).post(`/v2/agents/activations/${id}/cancel`, {}).expect(202);
    const a = await finished(id, 30_000);
    expect(a.status).toBe('cancelled');
    await eventually(async () => (sleeping() === 0 ? true : null), 15_000);
  });

  withCli(
    'a worker SIGKILLed mid-session: its sandbox dies with it, another run resumes the session',
    async () => {
      const task = await newTask('resumed');
      fake.turns.push(bash('node -e "setTimeout(() => {}, 3131000)"'));
      const id = await activate(task.id, { provider: 'claude-code' });
      await eventually(async () => (sleeping() > 0 ? true : null), 60_000);
      await system.worker.kill('SIGKILL');
      await eventually(async () => (sleeping() === 0 ? true : null), 15_000);
      fake.turns.length = 0;
      fake.turns.push(write('src/resumed.js', 'module.exports = 1;\n'), end('resumed'));
      await system.worker.start();
      const a = await finished(id);
      expect(a.status).toBe('completed');
      expect(a.output!.change!.branch).toBe(`cocode/${task.key}-backend-1`);
      expect(await diff(a.output!.change!.changeId)).toContain('+++ b/src/resumed.js');
      const p = (await as(developer.token).get(`/v2/agents/activations/${id}/progress`).expect(200)).body;
      expect(p.logs.some((l: { message: string }) => /从中断处继续/.test(l.message))).toBe(true);
    },
  );

  withCli(
    'SIGTERM mid-session: the worker stops at once, hands the activation back, and it resumes',
    async () => {
      const task = await newTask('handed back');
      fake.turns.push(bash('node -e "setTimeout(() => {}, 3131000)"'));
      const id = await activate(task.id, { provider: 'claude-code' });
      await eventually(async () => (sleeping() > 0 ? true : null), 60_000);
      const stopped = Date.now();
      await system.worker.kill('SIGTERM');
      expect(Date.now() - stopped).toBeLessThan(10_000);
      expect(sleeping()).toBe(0);
      const p = (await as(developer.token).get(`/v2/agents/activations/${id}/progress`).expect(200)).body;
      expect(p.status).toBe('processing');
      expect(p.logs.some((l: { message: string }) => /交还/.test(l.message))).toBe(true);
      fake.turns.length = 0;
      fake.turns.push(write('src/handed.js', 'module.exports = 2;\n'), end('resumed'));
      await system.worker.start();
      const a = await finished(id);
      expect(a.status).toBe('completed');
      expect(await diff(a.output!.change!.changeId)).toContain('+++ b/src/handed.js');
    },
  );

  withCli('config.budget.timeoutSeconds ends a session that runs too long: timed_out', async () => {
    const task = await newTask('too slow');
    fake.turns.push(bash('node -e "setTimeout(() => {}, 3131000)"'), end('never'));
    const id = await activate(task.id, { provider: 'claude-code', budget: { timeoutSeconds: 10 } });
    const a = await finished(id, 60_000);
    expect(a.status).toBe('timed_out');
    expect(a.error).toMatch(/10 s/);
    await eventually(async () => (sleeping() === 0 ? true : null), 15_000);
  });

  it('a tester’s test agent builds its branch too; autoMerge is refused to a role that cannot merge', async () => {
    const [tester] = await system.users('tester');
    await as(admin)
      .post(`/v2/projects/${project.id}/members`, { userId: tester.id, role: 'member' })
      .expect(201);
    const task = await newTask('tests only');
    await as(tester.token)
      .post('/v2/agents/test/activate', {
        taskId: task.id,
        input: {},
        config: { provider: 'template', autoMerge: true },
      })
      .expect(403);
    const id = (
      await as(tester.token)
        .post('/v2/agents/test/activate', { taskId: task.id, input: {}, config: { provider: 'template' } })
        .expect(202)
    ).body.activationId as string;
    const a = await finished(id);
    expect(a.status).toBe('completed');
    expect(a.output!.change!.branch).toBe(`cocode/${task.key}-test-1`);
    expect(a.output!.change!.buildStatus).toBe('success');
    const build = (await as(admin).get(`/v2/builds/${a.output!.change!.buildId}`).expect(200)).body;
    expect(build.triggeredBy).toBe(tester.id);
  });

  it('the test agent adds its work to the task’s open change, on its branch', async () => {
    const [tester] = await system.users('tester');
    await as(admin)
      .post(`/v2/projects/${project.id}/members`, { userId: tester.id, role: 'member' })
      .expect(201);
    const task = await newTask('tests on the change');
    const backend = await finished(await activate(task.id, { provider: 'template' }));
    const opened = backend.output!.change!;
    const id = (
      await as(tester.token)
        .post('/v2/agents/test/activate', { taskId: task.id, input: {}, config: { provider: 'template' } })
        .expect(202)
    ).body.activationId as string;
    const a = await finished(id);
    expect(a.status).toBe('completed');
    expect(a.output!.change!.changeId).toBe(opened.changeId);
    expect(a.output!.change!.branch).toBe(opened.branch);
    expect(a.output!.change!.headSha).not.toBe(opened.headSha);
    const c = await change(opened.changeId);
    expect(c.headSha).toBe(a.output!.change!.headSha);
    expect(c.commits.map((x: { author: string }) => x.author)).toEqual([
      'test agent <agents@cocode.local>',
      'backend agent <agents@cocode.local>',
    ]);
    expect(await diff(opened.changeId)).toContain(`+++ b/docs/cocode/${task.key}-test.md`);
  });

  it('a viewer sees the project’s changes; a non-member sees none (404)', async () => {
    const list = (await as(viewer.token).get(`/v2/projects/${project.id}/changes`).expect(200)).body;
    expect(list.data.length).toBeGreaterThan(0);
    const id = list.data[0].id as string;
    await as(outsider.token).get(`/v2/changes/${id}`).expect(404);
    await as(outsiderViewer.token).get(`/v2/changes/${id}`).expect(404);
    await as(outsiderViewer.token).get(`/v2/projects/${project.id}/changes`).expect(404);
    await as(viewer.token).post(`/v2/changes/${id}/merge`, {}).expect(403);
  });

  it('refuses claude-code for a document agent and for a project without a repository', async () => {
    const task = await newTask('refusals');
    const bad = await as(admin)
      .post('/v2/agents/product/activate', {
        taskId: task.id,
        input: {},
        config: { provider: 'claude-code' },
      })
      .expect(422);
    expect(bad.body.error.details.fields).toEqual(
      expect.arrayContaining([expect.objectContaining({ field: 'config.provider' })]),
    );
  });
});

/** Processes of the cancel test's command still on the host. */
function sleeping(): number {
  try {
    return execFileSync('pgrep', ['-f', 'setTimeout.*3131000'], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter(Boolean).length;
  } catch {
    return 0;
  }
}
