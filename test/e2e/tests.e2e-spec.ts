import { mkdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GitRepo } from '../support/git-repo';
import { eventually, expectEnvelope, TEST_RUN_DONE, TestSystem } from '../support/system';
import { sandboxTmpDir } from '../support/env';

type Session = { id: string; token: string };
type Run = {
  runId: string;
  status: string;
  summary: null | Record<string, number>;
  error: string | null;
  logTail: string | null;
  exitCode: number | null;
  [key: string]: unknown;
};

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

/** A shell command writing `xml` to `path` (a heredoc: no quoting trouble; `expand` lets the shell fill in $VARS). */
const writes = (path: string, xml: string, expand = false) =>
  `mkdir -p "$(dirname ${path})" && cat > ${path} <<${expand ? 'XML' : "'XML'"}\n${xml}\nXML`;

const PASSING = `<testsuites time="1.5">
  <testsuite name="checkout" time="1.5">
    <testcase classname="cart.Total" name="adds tax" time="0.5"/>
    <testcase classname="cart.Total" name="rounds" time="1"/>
    <testcase classname="cart.Coupon" name="expired coupons" time="0"><skipped message="not yet"/></testcase>
  </testsuite>
</testsuites>`;

const FAILING = `<testsuite name="login" time="2.25">
  <testcase classname="auth.Login" name="accepts a good password" time="0.25"/>
  <testcase classname="auth.Login" name="refuses a bad password" time="1">
    <failure message="expected 401, got 200" type="AssertionError">AssertionError: expected 401, got 200
    at login.spec.ts:12:5</failure>
  </testcase>
  <testcase classname="auth.Login" name="locks the account" time="1">
    <error message="TypeError: lock is not a function">TypeError: lock is not a function
    at lock.ts:3:1</error>
  </testcase>
  <testcase classname="auth.Login" name="remembers me" time="0"><skipped/></testcase>
</testsuite>`;

describe('test suites: real commands, JUnit reports, working-directory roots', () => {
  const tmp = sandboxTmpDir('cocode-tests-e2e-');
  const roots = join(tmp, 'suites');
  const suiteDir = join(roots, 'shop');
  const outside = join(tmp, 'outside');
  const repo = new GitRepo(join(tmp, 'repo'));
  let system: TestSystem;
  let admin: string;
  let developer: Session;
  let tester: Session;
  let devops: Session;
  let viewer: Session;
  let outsider: Session;
  let project: { id: string };
  let privateProject: { id: string };

  beforeAll(async () => {
    mkdirSync(suiteDir, { recursive: true });
    mkdirSync(outside, { recursive: true });
    symlinkSync(outside, join(roots, 'escape'));
    repo.commit('v1', {
      'run-tests.sh': `#!/bin/sh\n${writes('out/junit.xml', PASSING)}\necho "ran in $(pwd)"\n`,
    });
    system = await TestSystem.start({
      env: {
        WORKSPACES_ROOT: join(tmp, 'workspaces'),
        TESTS_WORKDIR_ROOTS: roots,
        BUILDS_LEASE_SECONDS: '2',
        BUILDS_SWEEP_INTERVAL_MS: '300',
      },
    });
    admin = await system.adminToken();
    [developer, tester, devops, viewer, outsider] = await system.users(
      'developer',
      'tester',
      'devops',
      'viewer',
      'tester',
    );
    const mk = (key: string, visibility: string) =>
      system.project({ key, ownerId: developer.id, members: [tester.id, devops.id, viewer.id], visibility });
    project = await mk('SHOP', 'internal');
    privateProject = await mk('QA', 'private');
  });
  afterAll(async () => {
    await system?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  const as = (token: string) => system.as(token);
  let seq = 0;
  const suite = async (body: Record<string, unknown>, token = developer.token) =>
    (
      await as(token)
        .post('/v2/tests/suites', {
          projectId: project.id,
          name: `suite-${++seq}`,
          workingDirectory: suiteDir,
          reportPath: `reports/${seq}.xml`,
          ...body,
        })
        .expect(201)
    ).body as { id: string; reportPath: string };
  const run = async (suiteId: string, body: object = {}, token = tester.token) => {
    const res = await as(token).post(`/v2/tests/suites/${suiteId}/run`, body).expect(202);
    expect(res.headers.location).toBe(`/v2/tests/runs/${res.body.runId}`);
    return res.body as { runId: string };
  };
  const finished = (runId: string, timeoutMs = 15000) =>
    system.settled<Run>(viewer.token, `/v2/tests/runs/${runId}`, TEST_RUN_DONE, timeoutMs);
  const report = async (runId: string) =>
    (await as(viewer.token).get(`/v2/tests/runs/${runId}/report`).expect(200)).body;

  describe('defining suites', () => {
    it('lets a developer define one on a working directory, and anyone who sees the project read it', async () => {
      const res = await as(developer.token)
        .post('/v2/tests/suites', {
          projectId: project.id,
          name: 'e2e-checkout',
          workingDirectory: suiteDir,
          command: 'npx playwright test',
          reportPath: 'results/junit.xml',
          timeoutSeconds: 120,
        })
        .expect(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(/^suite_[0-9a-z]{16}$/),
        projectId: project.id,
        name: 'e2e-checkout',
        description: null,
        repositoryUrl: null,
        branch: null,
        workingDirectory: suiteDir,
        command: 'npx playwright test',
        reportPath: 'results/junit.xml',
        timeoutSeconds: 120,
        createdBy: developer.id,
        createdAt: expect.stringMatching(ISO),
        updatedAt: expect.stringMatching(ISO),
      });
      expect((await as(viewer.token).get(`/v2/tests/suites/${res.body.id}`).expect(200)).body).toEqual(
        res.body,
      );
      const listed = await as(outsider.token).get(`/v2/tests/suites?projectId=${project.id}`).expect(200);
      expect(listed.body.data.map((s: { id: string }) => s.id)).toContain(res.body.id);
      await as(tester.token)
        .post('/v2/tests/suites', {
          projectId: project.id,
          name: 'e2e-checkout',
          workingDirectory: suiteDir,
          command: 'x',
          reportPath: 'r.xml',
        })
        .expect(409);
    });

    it('lets testers define suites; refuses devops and viewers (403), non-members (403) and invisible projects (404)', async () => {
      await suite({ command: 'true' }, tester.token);
      const body = { name: 'nope', workingDirectory: suiteDir, command: 'true', reportPath: 'r.xml' };
      for (const token of [devops.token, viewer.token, outsider.token])
        expectEnvelope(
          (
            await as(token)
              .post('/v2/tests/suites', { ...body, projectId: project.id })
              .expect(403)
          ).body,
          'FORBIDDEN',
        );
      const stranger = await system.userWithRole('developer');
      await as(stranger.token)
        .post('/v2/tests/suites', { ...body, projectId: privateProject.id })
        .expect(404);
    });

    it.each([
      ['a working directory outside the configured roots', { workingDirectory: outside }, 'workingDirectory'],
      [
        'a working directory escaping with ..',
        { workingDirectory: `${roots}/../outside` },
        'workingDirectory',
      ],
      ['a relative working directory', { workingDirectory: 'shop' }, 'workingDirectory'],
      ['both a repository and a working directory', { repositoryUrl: repo.url }, 'repositoryUrl'],
      ['neither', { workingDirectory: undefined }, 'repositoryUrl'],
      ['a branch without a repository', { branch: 'main' }, 'branch'],
      ['an absolute report path', { reportPath: '/etc/passwd' }, 'reportPath'],
      ['a report path leaving the directory', { reportPath: '../x.xml' }, 'reportPath'],
      [
        'a repository URL that is not git',
        { workingDirectory: undefined, repositoryUrl: 'nope' },
        'repositoryUrl',
      ],
    ])('refuses %s (422)', async (_, patch, field) => {
      const res = await as(developer.token)
        .post('/v2/tests/suites', {
          projectId: project.id,
          name: `bad-${++seq}`,
          workingDirectory: suiteDir,
          command: 'true',
          reportPath: 'r.xml',
          ...patch,
        })
        .expect(422);
      const error = expectEnvelope(res.body, 'VALIDATION_ERROR');
      expect((error.details.fields as Array<{ field: string }>).map((f) => f.field)).toContain(field);
    });
  });

  describe('running suites', () => {
    it('runs the seed example: 202 with runId, the options as TEST_BROWSERS, TEST_PARALLEL, TEST_ENV; a passing report', async () => {
      const xml = PASSING.replace(
        'adds tax',
        'browsers=$TEST_BROWSERS parallel=$TEST_PARALLEL env=$TEST_ENV',
      );
      const s = await suite({
        command: writes('reports/pass.xml', xml, true),
        reportPath: 'reports/pass.xml',
      });
      const res = await as(tester.token)
        .post(`/v2/tests/suites/${s.id}/run`, {
          environment: 'staging',
          browsers: ['chromium', 'firefox'],
          parallel: 2,
        })
        .expect(202);
      expect(res.body).toEqual({
        runId: expect.stringMatching(/^run_[0-9a-z]{16}$/),
        suiteId: s.id,
        status: 'queued',
        environment: 'staging',
        browsers: ['chromium', 'firefox'],
        parallel: 2,
        triggeredBy: tester.id,
        triggeredAt: expect.stringMatching(ISO),
        reportUrl: `/v2/tests/runs/${res.body.runId}/report`,
      });
      expect(res.headers.location).toBe(`/v2/tests/runs/${res.body.runId}`);
      const r = await finished(res.body.runId);
      expect(r).toEqual(
        expect.objectContaining({
          status: 'passed',
          exitCode: 0,
          error: null,
          summary: { total: 3, passed: 2, failed: 0, skipped: 1, errors: 0, duration: 1.5 },
          startedAt: expect.stringMatching(ISO),
          finishedAt: expect.stringMatching(ISO),
        }),
      );
      const rep = await report(res.body.runId);
      expect(rep.summary).toEqual(r.summary);
      expect(rep.cases).toEqual([
        {
          suite: 'checkout',
          classname: 'cart.Total',
          name: 'browsers=chromium,firefox parallel=2 env=staging',
          time: 0.5,
          status: 'passed',
          message: null,
          details: null,
        },
        expect.objectContaining({ name: 'rounds', status: 'passed', time: 1 }),
        expect.objectContaining({ name: 'expired coupons', status: 'skipped', message: 'not yet' }),
      ]);
    });

    it('uses the seed defaults: browsers chromium, parallel 4, no TEST_ENV', async () => {
      const s = await suite({
        command: `echo "[$TEST_BROWSERS|$TEST_PARALLEL|\${TEST_ENV-unset}]"; ${writes('reports/d.xml', PASSING)}`,
        reportPath: 'reports/d.xml',
      });
      const r = await finished((await run(s.id)).runId);
      expect(r).toEqual(
        expect.objectContaining({ status: 'passed', browsers: ['chromium'], parallel: 4, environment: null }),
      );
      expect(r.logTail).toContain('[chromium|4|unset]');
    });

    it('reports failures with message and stack, errors and skips; the run fails and test.failed is published', async () => {
      const s = await suite({
        command: `${writes('reports/f.xml', FAILING)}\nexit 1`,
        reportPath: 'reports/f.xml',
      });
      const { runId } = await run(s.id);
      const r = await finished(runId);
      expect(r).toEqual(
        expect.objectContaining({
          status: 'failed',
          exitCode: 1,
          error: null,
          summary: { total: 4, passed: 1, failed: 1, skipped: 1, errors: 1, duration: 2.25 },
        }),
      );
      const rep = await report(runId);
      expect(rep.cases.map((c: { status: string }) => c.status)).toEqual([
        'passed',
        'failed',
        'error',
        'skipped',
      ]);
      expect(rep.cases[1]).toEqual({
        suite: 'login',
        classname: 'auth.Login',
        name: 'refuses a bad password',
        time: 1,
        status: 'failed',
        message: 'expected 401, got 200',
        details: 'AssertionError: expected 401, got 200\n    at login.spec.ts:12:5',
      });
      expect(rep.cases[2]).toEqual(
        expect.objectContaining({ status: 'error', message: 'TypeError: lock is not a function' }),
      );
      const events = await eventually(async () => {
        const rows = await system.sql<{
          payload: { type: string; data: { run: { runId: string }; failedCases: unknown[] } };
        }>(
          `SELECT payload FROM outbox_messages WHERE name = 'event.fanout' AND payload->>'type' = 'test.failed'
              AND payload->'data'->'run'->>'runId' = $1`,
          [runId],
        );
        return rows.length ? rows : null;
      });
      expect(events[0].payload.data.failedCases).toEqual([
        expect.objectContaining({ name: 'refuses a bad password', status: 'failed' }),
        expect.objectContaining({ name: 'locks the account', status: 'error' }),
      ]);
    });

    it('turns a malformed report into an error run with the parser’s reason and the log tail', async () => {
      const s = await suite({
        command: `echo "writing a broken report"; ${writes('reports/m.xml', '<testsuite name="x"><testcase name="a">')}`,
        reportPath: 'reports/m.xml',
      });
      const r = await finished((await run(s.id)).runId);
      expect(r.status).toBe('error');
      expect(r.error).toMatch(
        /^reports\/m\.xml: the report is not well-formed XML: unclosed element <testcase> at line \d+, column \d+$/,
      );
      expect(r.summary).toBeNull();
      expect(r.logTail).toContain('writing a broken report');
      const rep = await report(r.runId);
      expect(rep).toEqual(
        expect.objectContaining({ status: 'error', summary: null, cases: [], error: r.error }),
      );
    });

    it('makes a failing command without a report an error run with its log tail', async () => {
      const s = await suite({ command: 'echo "compiling"; echo "boom: cannot find module" >&2; exit 2' });
      const r = await finished((await run(s.id)).runId);
      expect(r).toEqual(
        expect.objectContaining({
          status: 'error',
          exitCode: 2,
          summary: null,
          error: `the command exited with code 2 and wrote no report at ${s.reportPath}`,
        }),
      );
      expect(r.logTail).toContain('compiling');
      expect(r.logTail).toContain('boom: cannot find module');
    });

    it('does not take an old report left in the directory for this run’s', async () => {
      const s = await suite({ command: 'echo "did nothing"' });
      mkdirSync(join(suiteDir, 'reports'), { recursive: true });
      writeFileSync(join(suiteDir, s.reportPath), PASSING);
      const old = new Date(Date.now() - 3600_000);
      utimesSync(join(suiteDir, s.reportPath), old, old);
      const r = await finished((await run(s.id)).runId);
      expect(r.status).toBe('error');
      expect(r.error).toMatch(/wrote no new report .* older than the run/);
    });

    it('kills a command that outlives the suite’s timeout', async () => {
      const s = await suite({ command: 'echo started; sleep 30', timeoutSeconds: 1 });
      const started = Date.now();
      const r = await finished((await run(s.id)).runId);
      expect(Date.now() - started).toBeLessThan(8000);
      expect(r).toEqual(
        expect.objectContaining({
          status: 'error',
          error: 'the command timed out after 1 s (its sandbox was killed)',
        }),
      );
    });

    it('runs in a fresh checkout of a repository suite', async () => {
      const s = await suite({
        workingDirectory: undefined,
        repositoryUrl: repo.url,
        command: './run-tests.sh',
        reportPath: 'out/junit.xml',
      });
      const r = await finished((await run(s.id)).runId);
      expect(r).toEqual(expect.objectContaining({ status: 'passed', commit: repo.commits.v1 }));
      expect(r.logTail).toContain('ran in /workspace/src');
      const bad = await suite({
        workingDirectory: undefined,
        repositoryUrl: `file://${join(tmp, 'missing-repo')}`,
        command: 'true',
      });
      const failed = await finished((await run(bad.id)).runId);
      expect(failed.status).toBe('error');
      expect(failed.error).toMatch(/^checkout failed: .* is not a repository on this worker/);
    });

    it('refuses at run time a working directory whose link leads out of the roots', async () => {
      const s = await suite({
        workingDirectory: join(roots, 'escape'),
        command: `touch ${join(outside, 'touched')}`,
      });
      const r = await finished((await run(s.id)).runId);
      expect(r.status).toBe('error');
      expect(r.error).toMatch(/^refused: workingDirectory .* outside TESTS_WORKDIR_ROOTS/);
      expect(r.exitCode).toBeNull();
    });

    it('answers 409 for the report of a run still going, lists a suite’s runs and replays an idempotent run', async () => {
      const s = await suite({
        command: `sleep 1; ${writes('reports/slow.xml', PASSING)}`,
        reportPath: 'reports/slow.xml',
      });
      const { runId } = await run(s.id);
      const early = await as(viewer.token).get(`/v2/tests/runs/${runId}/report`).expect(409);
      expect(expectEnvelope(early.body, 'CONFLICT').details).toEqual(expect.objectContaining({ runId }));
      await finished(runId);
      const send = () =>
        system.http
          .post(`/v2/tests/suites/${s.id}/run`)
          .auth(tester.token, { type: 'bearer' })
          .set('Idempotency-Key', `run-${s.id}`)
          .send({ parallel: 1 });
      const first = await send().expect(202);
      const again = await send().expect(202);
      expect(again.body.runId).toBe(first.body.runId);
      expect(again.headers.location).toBe(first.headers.location);
      await finished(first.body.runId);
      const runs = await as(viewer.token).get(`/v2/tests/suites/${s.id}/runs`).expect(200);
      expect(runs.body.data.map((r: { runId: string }) => r.runId)).toEqual([first.body.runId, runId]);
      expect(runs.body.pagination.totalItems).toBe(2);
    });

    it('lets developers and testers run suites, not devops or viewers; hides private projects', async () => {
      const s = await suite({ command: 'true' });
      for (const token of [devops.token, viewer.token, outsider.token])
        await as(token).post(`/v2/tests/suites/${s.id}/run`, {}).expect(403);
      await as(tester.token).post(`/v2/tests/suites/${s.id}/run`, { parallel: 0 }).expect(422);
      await as(tester.token)
        .post(`/v2/tests/suites/${s.id}/run`, { browsers: ['Chrome Beta'] })
        .expect(422);
      const hidden = await suite({ projectId: privateProject.id, command: 'true' }, admin);
      const { runId } = await run(hidden.id, {}, admin);
      await as(outsider.token).get(`/v2/tests/suites/${hidden.id}`).expect(404);
      await as(outsider.token).post(`/v2/tests/suites/${hidden.id}/run`, {}).expect(404);
      await as(outsider.token).get(`/v2/tests/runs/${runId}`).expect(404);
      await as(outsider.token).get(`/v2/tests/runs/${runId}/report`).expect(404);
      await finished(runId);
    });
  });

  it('turns the run of a worker killed mid-run into an error once its lease expires', async () => {
    const s = await suite({ command: 'echo working; sleep 30' });
    const { runId } = await run(s.id);
    await eventually(async () => {
      const r = (await as(viewer.token).get(`/v2/tests/runs/${runId}`).expect(200)).body;
      return r.status === 'running';
    });
    await system.worker.kill('SIGKILL');
    await system.worker.start();
    const r = await finished(runId, 10000);
    expect(r.status).toBe('error');
    expect(r.error).toMatch(/the worker running the test run stopped: its lease expired/);
  });
});
