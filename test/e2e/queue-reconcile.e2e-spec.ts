import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { GitRepo } from '../support/git-repo';
import { BUILD_DONE, DEPLOYMENT_DONE, eventually, TEST_RUN_DONE, TestSystem } from '../support/system';
import { sandboxTmpDir } from '../support/env';

type Session = { id: string; token: string };

const REPORT = `<testsuite name="smoke" time="0.1"><testcase classname="smoke" name="works" time="0.1"/></testsuite>`;

/**
 * Queue and database agree after faults: rows the database says are queued, whose jobs Redis lost
 * (a restart without persistence, here an obliterated queue) while no worker was up, are
 * enqueued again by the sweeps of the next worker, once each, and run.
 */
describe('queued work whose job Redis lost', () => {
  const tmp = sandboxTmpDir('cocode-reconcile-e2e-');
  const suites = join(tmp, 'suites');
  const repo = new GitRepo(join(tmp, 'repo'));
  let system: TestSystem;
  let devops: Session;
  let tester: Session;
  let approver: Session;
  let project: { id: string };

  beforeAll(async () => {
    repo.commit('v1', { 'app.txt': 'app\n' });
    // git in the sandbox (SANDBOX_UID) refuses to clone a repository another uid owns ("dubious
    // ownership"): when the tests run as root, the repository is given to that uid.
    if (process.getuid?.() === 0) execFileSync('chown', ['-R', '10001:10001', repo.dir]);
    mkdirSync(join(suites, 'smoke'), { recursive: true });
    mkdirSync(join(tmp, 'tmp'));
    system = await TestSystem.start({
      env: {
        WORKSPACES_ROOT: join(tmp, 'workspaces'),
        ARTIFACTS_ROOT: join(tmp, 'artifacts'),
        TESTS_WORKDIR_ROOTS: suites,
        // The workers' own temporary files (the sandbox's /etc files) away from the shared /tmp.
        TMPDIR: join(tmp, 'tmp'),
        GIT_FILE_ROOTS: tmp,
        BUILDS_SWEEP_INTERVAL_MS: '300',
        DEPLOY_SWEEP_INTERVAL_MS: '300',
        DEPLOY_HEALTH_CHECK_INTERVAL_MS: '50',
        QUEUE_RECONCILE_AFTER_SECONDS: '1',
      },
    });
    [devops, tester, approver] = await system.users('devops', 'tester', 'architect');
    project = await system.project({
      key: 'RECON',
      ownerId: devops.id,
      members: [tester.id, approver.id],
      visibility: 'private',
    });
  });
  afterAll(async () => {
    await system?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  const as = (token: string) => system.as(token);
  const read = async (url: string): Promise<{ status: string; [key: string]: unknown }> =>
    (await as(devops.token).get(url).expect(200)).body;
  /** The row once it reached one of the `done` statuses (all of it: a failure says why). */
  const settled = (url: string, done: string[]) => system.settled(devops.token, url, done, 30000);
  /** The states of these jobs of a queue, in order. */
  const states = (queue: string, ids: string[]) =>
    Promise.all(ids.map((id) => system.queue(queue).getJobState(id)));
  /** Waits until the gateway relayed the jobs, then loses the whole queue as a Redis restart would. */
  const loseQueue = async (queue: string, ids: string[]) => {
    await eventually(async () => (await states(queue, ids)).every((s) => s === 'waiting'));
    await system.queue(queue).obliterate({ force: true });
    expect(await states(queue, ids)).toEqual(ids.map(() => 'unknown'));
  };
  /** The ids of the queue's completed jobs, once none is left to run (a job ends just after its row). */
  const completedJobs = async (queue: string) => {
    const q = system.queue(queue);
    await eventually(async () => {
      const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      return Object.values(counts).every((n) => n === 0);
    });
    return (await q.getJobs(['completed'])).map((j) => j.id).sort();
  };

  const pipeline = async (name: string) =>
    (
      await system.pipeline(devops.token, {
        projectId: project.id,
        name,
        repositoryUrl: repo.url,
        stages: [{ name: 'build', commands: ['cat app.txt'] }],
      })
    ).id;
  const trigger = async (pipelineId: string) =>
    (await as(devops.token).post(`/v2/pipelines/${pipelineId}/trigger`, {}).expect(202)).body
      .buildId as string;
  const built = (buildId: string) => settled(`/v2/builds/${buildId}`, BUILD_DONE);
  const succeeded = expect.objectContaining({ status: 'success' });

  it('runs two queued builds whose jobs were lost, each once, with two workers sweeping', async () => {
    const pipelineId = await pipeline('lost-builds');
    await system.worker.kill('SIGTERM');
    const builds = [await trigger(pipelineId), await trigger(pipelineId)];
    const jobIds = builds.map((id) => `build.run-${id}`);
    await loseQueue('builds', jobIds);

    const [, second] = await Promise.all([system.worker.start(), system.startWorker()]);
    try {
      for (const id of builds) expect(await built(id)).toEqual(succeeded);
      // One job each, under the build's own id: the two sweeps agreed on it.
      expect(await completedJobs('builds')).toEqual([...jobIds].sort());
      const logged = system.worker.output() + second.output();
      for (const id of builds) expect(logged).toContain(`"id":"${id}"`);
    } finally {
      await second.kill('SIGTERM');
    }
  });

  it('gives a build whose job ended without running it a job under a derived id', async () => {
    const pipelineId = await pipeline('ended-job');
    await system.worker.kill('SIGTERM');
    const buildId = await trigger(pipelineId);
    const jobId = `build.run-${buildId}`;
    await loseQueue('builds', [jobId]);
    // A job under the build's id that does not run it: it completes, and the build stays queued.
    await system.queue('builds').add('build.run', { buildId: 'build_0000000000000000' }, { jobId });

    await system.worker.start();
    expect(await built(buildId)).toEqual(succeeded);
    expect(await completedJobs('builds')).toEqual([jobId, `${jobId}-r1`]);
  });

  it('runs two queued test runs whose jobs were lost, each once', async () => {
    const suite = (
      await as(tester.token)
        .post('/v2/tests/suites', {
          projectId: project.id,
          name: 'lost-runs',
          workingDirectory: join(suites, 'smoke'),
          command: `mkdir -p out && echo '${REPORT}' > out/junit.xml`,
          reportPath: 'out/junit.xml',
        })
        .expect(201)
    ).body as { id: string };
    await system.worker.kill('SIGTERM');
    const run = async () =>
      (await as(tester.token).post(`/v2/tests/suites/${suite.id}/run`, {}).expect(202)).body.runId as string;
    const runs = [await run(), await run()];
    const jobIds = runs.map((id) => `test.run-${id}`);
    await loseQueue('test-runs', jobIds);

    await system.worker.start();
    for (const id of runs)
      expect(await settled(`/v2/tests/runs/${id}`, TEST_RUN_DONE)).toEqual(
        expect.objectContaining({ status: 'passed' }),
      );
    expect(await completedJobs('test-runs')).toEqual([...jobIds].sort());
  });

  it('starts queued deployments whose start was lost, one after the other, and leaves pending_approval alone', async () => {
    const app = (
      await as(devops.token)
        .post('/v2/applications', {
          projectId: project.id,
          name: 'lost-starts',
          target: { type: 'script', command: 'echo "$DEPLOY_STEP of $DEPLOY_VERSION"' },
        })
        .expect(201)
    ).body as { id: string };
    await system.worker.kill('SIGTERM');
    const deploy = async (body: object) =>
      (
        await as(devops.token)
          .post('/v2/deployments', { applicationId: app.id, ...body })
          .expect(202)
      ).body as { deploymentId: string; status: string };
    const first = await deploy({ environment: 'staging', version: 'v1.0.0' });
    const second = await deploy({ environment: 'staging', version: 'v1.1.0' });
    const waiting = await deploy({ environment: 'prod', version: 'v1.0.0', approvals: [approver.id] });
    expect([first.status, second.status, waiting.status]).toEqual(['queued', 'queued', 'pending_approval']);
    await loseQueue(
      'deployments',
      [first, second].map((d) => `deployment.start-${d.deploymentId}`),
    );

    await system.worker.start();
    for (const d of [first, second])
      expect(await settled(`/v2/deployments/${d.deploymentId}`, DEPLOYMENT_DONE)).toEqual(
        expect.objectContaining({ status: 'succeeded' }),
      );
    // The first one's start was enqueued again; the second started from the first one's finish.
    expect(await completedJobs('deployments')).toEqual(
      [`deployment.start-${first.deploymentId}`, `deployment.start-${first.deploymentId}-done`].sort(),
    );
    // Approvals are awaited from people, not from the queue: a few sweeps later, still untouched.
    await new Promise((r) => setTimeout(r, 2000));
    expect((await read(`/v2/deployments/${waiting.deploymentId}`)).status).toBe('pending_approval');
    expect(
      await system.queue('deployments').getJobCounts('waiting', 'active', 'delayed', 'completed'),
    ).toEqual({
      waiting: 0,
      active: 0,
      delayed: 0,
      completed: 2,
    });
  });
});
