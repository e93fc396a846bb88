import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { GitRepo } from '../support/git-repo';
import { readSse } from '../support/sse';
import { BUILD_DONE, eventually, expectEnvelope, TestSystem } from '../support/system';
import { sandboxTmpDir } from '../support/env';

type Session = { id: string; token: string };
type Build = {
  buildId: string;
  status: string;
  currentStage: string | null;
  progress: number;
  stages: Array<Record<string, unknown> & { name: string; status: string }>;
  artifacts: Array<{ name: string; size: number; url: string }>;
  error: string | null;
  [key: string]: unknown;
};

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
/** Host pids of processes whose whole command line is `command` (stages run in sandboxes, seen here from outside). */
const hostPids = (command: string): number[] => {
  try {
    return execFileSync('pgrep', ['-f', `^${command}$`], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map(Number);
  } catch {
    return [];
  }
};
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('pipelines and builds: real checkouts, stages, logs, artifacts, cancel, crash safety', () => {
  const tmp = sandboxTmpDir('cocode-pipelines-e2e-');
  const workspaces = join(tmp, 'workspaces');
  const repo = new GitRepo(join(tmp, 'repo'));
  let system: TestSystem;
  let admin: string;
  let devops: Session; // member: defines pipelines, triggers
  let developer: Session; // member: triggers, cannot define
  let viewer: Session; // member: reads
  let outsider: Session; // developer, not a member
  let project: { id: string };
  let privateProject: { id: string };

  beforeAll(async () => {
    repo.commit('v1', { 'app.txt': 'main app\n', 'version.txt': 'v1\n' });
    repo.commit('v2', { 'version.txt': 'v2\n', 'scripts/hello.sh': '#!/bin/sh\necho "hello from $1"\n' });
    repo.branch('feature');
    repo.commit('feature', { 'app.txt': 'feature app\n' });
    repo.checkout('main');
    system = await TestSystem.start({
      env: {
        WORKSPACES_ROOT: workspaces,
        BUILDS_LEASE_SECONDS: '2',
        BUILDS_SWEEP_INTERVAL_MS: '300',
        BUILDS_CONCURRENCY: '2',
      },
    });
    admin = await system.adminToken();
    [devops, developer, viewer, outsider] = await system.users('devops', 'developer', 'viewer', 'developer');
    const mk = (key: string, visibility: string) =>
      system.project({ key, ownerId: devops.id, members: [developer.id, viewer.id], visibility });
    project = await mk('ECOM', 'internal');
    privateProject = await mk('HIDDEN', 'private');
  });
  afterAll(async () => {
    await system?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  const as = (token: string) => system.as(token);
  let seq = 0;
  const pipeline = (body: Record<string, unknown>, projectId = project.id) =>
    system.pipeline(devops.token, {
      projectId,
      name: `p${++seq}`,
      repositoryUrl: repo.url,
      defaultBranch: 'main',
      ...body,
    });
  const trigger = async (pipelineId: string, body: object = {}, token = developer.token) => {
    const res = await as(token).post(`/v2/pipelines/${pipelineId}/trigger`, body).expect(202);
    expect(res.headers.location).toBe(`/v2/builds/${res.body.buildId}`);
    return res.body as { buildId: string; queuePosition: number; estimatedStartTime: string };
  };
  const build = async (id: string): Promise<Build> =>
    (await as(viewer.token).get(`/v2/builds/${id}`).expect(200)).body;
  const until = (id: string, predicate: (b: Build) => boolean, timeoutMs = 15000) =>
    eventually(async () => {
      const b = await build(id);
      return predicate(b) ? b : null;
    }, timeoutMs);
  const finished = (id: string, timeoutMs = 15000) =>
    system.settled<Build>(viewer.token, `/v2/builds/${id}`, BUILD_DONE, timeoutMs);
  const logText = async (id: string) =>
    (await as(viewer.token).get(`/v2/builds/${id}/logs`).expect(200)).text;

  describe('defining pipelines', () => {
    it('lets a devops member define one; returns it with stage timeouts filled in', async () => {
      const res = await as(devops.token)
        .post('/v2/pipelines', {
          projectId: project.id,
          name: 'ecom-main',
          repositoryUrl: repo.url,
          stages: [
            { name: 'build', commands: ['echo build'], timeoutSeconds: 60 },
            { name: 'deploy', commands: ['true'] },
          ],
          artifacts: ['dist/*.jar'],
        })
        .expect(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(/^pipe_[0-9a-z]{16}$/),
        projectId: project.id,
        name: 'ecom-main',
        description: null,
        repositoryUrl: repo.url,
        repositoryFromProject: false,
        defaultBranch: 'main',
        stages: [
          { name: 'build', commands: ['echo build'], timeoutSeconds: 60 },
          { name: 'deploy', commands: ['true'], timeoutSeconds: 3600 },
        ],
        artifacts: ['dist/*.jar'],
        network: 'none',
        createdBy: devops.id,
        createdAt: expect.stringMatching(ISO),
        updatedAt: expect.stringMatching(ISO),
      });
      const got = await as(viewer.token).get(`/v2/pipelines/${res.body.id}`).expect(200);
      expect(got.body).toEqual(res.body);
      const listed = await as(viewer.token).get(`/v2/pipelines?projectId=${project.id}`).expect(200);
      expect(listed.body.data.map((p: { id: string }) => p.id)).toContain(res.body.id);
      await as(devops.token)
        .post('/v2/pipelines', {
          projectId: project.id,
          name: 'ecom-main',
          repositoryUrl: repo.url,
          stages: [{ name: 'a', commands: ['true'] }],
        })
        .expect(409);
    });

    it('refuses developers (403), non-members (403) and invisible projects (404)', async () => {
      const body = { name: 'x', repositoryUrl: repo.url, stages: [{ name: 'a', commands: ['true'] }] };
      expectEnvelope(
        (
          await as(developer.token)
            .post('/v2/pipelines', { ...body, projectId: project.id })
            .expect(403)
        ).body,
        'FORBIDDEN',
      );
      const outsiderDevops = await system.userWithRole('devops');
      await as(outsiderDevops.token)
        .post('/v2/pipelines', { ...body, projectId: project.id })
        .expect(403);
      await as(outsiderDevops.token)
        .post('/v2/pipelines', { ...body, projectId: privateProject.id })
        .expect(404);
      await as(admin)
        .post('/v2/pipelines', { ...body, name: 'by-admin', projectId: privateProject.id })
        .expect(201);
    });

    it.each([
      ['a repository URL that is not git', { repositoryUrl: 'not a url' }, 'repositoryUrl'],
      ['option injection as a URL', { repositoryUrl: '--upload-pack=touch /tmp/x' }, 'repositoryUrl'],
      ['a bad branch name', { defaultBranch: '--evil' }, 'defaultBranch'],
      ['no stages', { stages: [] }, 'stages'],
      ['a stage without commands', { stages: [{ name: 'a', commands: [] }] }, 'stages[0].commands'],
      ['the reserved stage name', { stages: [{ name: 'checkout', commands: ['true'] }] }, 'stages'],
      [
        'duplicate stage names',
        {
          stages: [
            { name: 'a', commands: ['x'] },
            { name: 'A', commands: ['y'] },
          ],
        },
        'stages',
      ],
      [
        'a zero timeout',
        { stages: [{ name: 'a', commands: ['true'], timeoutSeconds: 0 }] },
        'stages[0].timeoutSeconds',
      ],
      ['an artifact glob leaving the workspace', { artifacts: ['../etc/*'] }, 'artifacts'],
    ])('refuses %s (422)', async (_, patch, field) => {
      const res = await as(devops.token)
        .post('/v2/pipelines', {
          projectId: project.id,
          name: `bad-${++seq}`,
          repositoryUrl: repo.url,
          stages: [{ name: 'a', commands: ['true'] }],
          ...patch,
        })
        .expect(422);
      const error = expectEnvelope(res.body, 'VALIDATION_ERROR');
      expect((error.details.fields as Array<{ field: string }>).map((f) => f.field)).toContain(field);
    });

    it('updates and deletes (devops), hides credentials in repository URLs', async () => {
      const p = await pipeline({ stages: [{ name: 'a', commands: ['true'] }] });
      const updated = await as(devops.token)
        .put(`/v2/pipelines/${p.id}`, {
          repositoryUrl: 'https://ci:tok3n-secret@git.example.com/acme/shop.git',
          stages: [{ name: 'b', commands: ['echo b'], timeoutSeconds: 5 }],
        })
        .expect(200);
      expect(updated.body.repositoryUrl).toBe('https://ci:***@git.example.com/acme/shop.git');
      expect(updated.body.stages).toEqual([{ name: 'b', commands: ['echo b'], timeoutSeconds: 5 }]);
      await as(developer.token).put(`/v2/pipelines/${p.id}`, { name: 'nope' }).expect(403);
      await as(developer.token).delete(`/v2/pipelines/${p.id}`).expect(403);
      await as(devops.token).delete(`/v2/pipelines/${p.id}`).expect(204);
      await as(devops.token).get(`/v2/pipelines/${p.id}`).expect(404);
    });
  });

  describe('running builds', () => {
    it("checks out the project's repository (in the sandbox) for a pipeline without repositoryUrl", async () => {
      await as(admin)
        .put(`/v2/projects/${project.id}`, { repository: { url: repo.url, defaultBranch: 'feature' } })
        .expect(200);
      try {
        const p = await system.pipeline(devops.token, {
          projectId: project.id,
          name: 'follows-project',
          stages: [{ name: 'show', commands: ['cat app.txt'] }],
        });
        expect(p).toMatchObject({
          repositoryUrl: repo.url,
          repositoryFromProject: true,
          defaultBranch: 'feature',
        });
        const { buildId } = await trigger(p.id);
        expect(await finished(buildId)).toMatchObject({ status: 'success', commit: repo.commits.feature });
        expect(await logText(buildId)).toContain('feature app');
        await as(devops.token).delete(`/v2/pipelines/${p.id}`).expect(204);
      } finally {
        await as(admin).put(`/v2/projects/${project.id}`, { repository: null }).expect(200);
      }
    });

    let main: { id: string };
    beforeAll(async () => {
      main = await pipeline({
        name: 'ecom-ci',
        stages: [
          {
            name: 'build',
            commands: ['mkdir -p dist', 'cp app.txt dist/app.jar', 'echo "built $(cat version.txt)"'],
          },
          { name: 'test', commands: ['test -f dist/app.jar', 'echo tested'], timeoutSeconds: 30 },
          { name: 'deploy', commands: ['echo "deploying to $COCODE_ENVIRONMENT from $COCODE_BRANCH"'] },
        ],
        artifacts: ['dist/*.jar'],
      });
    });

    it('answers the seed trigger with 202, the seed fields and a Location, then runs every stage for real', async () => {
      const res = await as(developer.token)
        .post(`/v2/pipelines/${main.id}/trigger`, {
          branch: 'main',
          environment: 'staging',
          skipTests: false,
          variables: { LOG_LEVEL: 'debug' },
        })
        .expect(202);
      expect(Object.keys(res.body)).toEqual([
        'buildId',
        'pipelineId',
        'status',
        'queuePosition',
        'triggeredBy',
        'triggeredAt',
        'estimatedStartTime',
      ]);
      expect(res.body).toEqual({
        buildId: expect.stringMatching(/^build_[0-9a-z]{16}$/),
        pipelineId: main.id,
        status: 'queued',
        queuePosition: expect.any(Number),
        triggeredBy: developer.id,
        triggeredAt: expect.stringMatching(ISO),
        estimatedStartTime: expect.stringMatching(ISO),
      });
      expect(res.headers.location).toBe(`/v2/builds/${res.body.buildId}`);

      const done = await finished(res.body.buildId);
      expect(done).toEqual({
        buildId: res.body.buildId,
        pipelineId: main.id,
        projectId: project.id,
        status: 'success',
        currentStage: null,
        progress: 100,
        queuePosition: null,
        branch: 'main',
        commit: repo.commits.v2,
        environment: 'staging',
        skipTests: false,
        network: 'none',
        variables: ['LOG_LEVEL'],
        triggeredBy: developer.id,
        triggeredAt: res.body.triggeredAt,
        startedAt: expect.stringMatching(ISO),
        finishedAt: expect.stringMatching(ISO),
        duration: expect.any(Number),
        stages: ['checkout', 'build', 'test', 'deploy'].map((name) => ({
          name,
          status: 'success',
          duration: expect.any(Number),
          startedAt: expect.stringMatching(ISO),
          finishedAt: expect.stringMatching(ISO),
        })),
        artifacts: [
          {
            name: 'app.jar',
            size: 9,
            url: expect.stringMatching(/\/v2\/builds\/build_\w+\/artifacts\/app\.jar$/),
          },
        ],
        logs: { console: expect.stringMatching(/\/v2\/builds\/build_\w+\/logs$/), testReport: null },
        error: null,
      });
      for (const stage of done.stages) expect(stage.duration as number).toBeGreaterThan(0);
      expect(done.duration as number).toBeGreaterThan(0);

      const artifact = await as(viewer.token)
        .get(new URL(done.artifacts[0].url).pathname)
        .buffer(true)
        .parse((r, cb) => {
          let data = '';
          r.on('data', (c: Buffer) => (data += c.toString()));
          r.on('end', () => cb(null, data));
        })
        .expect(200);
      expect(artifact.body).toBe('main app\n');
      expect(artifact.headers['content-type']).toBe('application/octet-stream');
      expect(artifact.headers['content-disposition']).toContain('filename="app.jar"');
      await as(viewer.token).get(`/v2/builds/${done.buildId}/artifacts/nope.jar`).expect(404);

      const log = await logText(done.buildId);
      expect(log).toContain(`HEAD is now at ${repo.commits.v2}`);
      expect(log).toContain('$ cp app.txt dist/app.jar');
      expect(log).toContain('built v2');
      expect(log).toContain('tested');
      expect(log).toContain('deploying to staging from main');
      expect(log).toContain('artifacts: app.jar (9 bytes)');
    });

    it('checks out the branch and the commit asked for', async () => {
      const p = await pipeline({ stages: [{ name: 'show', commands: ['cat app.txt version.txt'] }] });
      const feature = await finished((await trigger(p.id, { branch: 'feature' })).buildId);
      expect(feature).toEqual(
        expect.objectContaining({ status: 'success', branch: 'feature', commit: repo.commits.feature }),
      );
      expect(await logText(feature.buildId)).toContain('feature app\nv2\n');
      const old = await finished((await trigger(p.id, { commit: repo.commits.v1.slice(0, 10) })).buildId);
      expect(old.commit).toBe(repo.commits.v1);
      expect(await logText(old.buildId)).toContain('main app\nv1\n');
      const missing = await finished((await trigger(p.id, { branch: 'no-such-branch' })).buildId);
      expect(missing.status).toBe('failed');
      expect(missing.error).toMatch(/branch no-such-branch not found/);
    });

    it('stops at the first failing command: later commands and stages never run', async () => {
      const p = await pipeline({
        stages: [
          { name: 'build', commands: ['echo one', 'echo oops >&2; exit 3', 'echo never-run'] },
          { name: 'deploy', commands: ['echo never-deployed'] },
        ],
      });
      const b = await finished((await trigger(p.id)).buildId);
      expect(b.status).toBe('failed');
      expect(b.error).toBe('stage build: command 2 exited with code 3');
      expect(b.stages.map((s) => [s.name, s.status])).toEqual([
        ['checkout', 'success'],
        ['build', 'failed'],
        ['deploy', 'skipped'],
      ]);
      expect(b.stages[1]).toEqual(
        expect.objectContaining({ reason: 'command 2 exited with code 3', duration: expect.any(Number) }),
      );
      expect(b.stages[2]).toEqual({ name: 'deploy', status: 'skipped' });
      const log = await logText(b.buildId);
      expect(log).toContain('one\n');
      expect(log).toContain('oops\n');
      expect(log).not.toContain('never-run');
      expect(log).not.toContain('never-deployed');
    });

    it('kills the whole process group of a stage that outlives its timeout', async () => {
      const p = await pipeline({
        stages: [
          { name: 'hang', commands: ['sleep 3031 & wait'], timeoutSeconds: 1 },
          { name: 'after', commands: ['echo after'] },
        ],
      });
      const b = await finished((await trigger(p.id)).buildId);
      expect(b.status).toBe('failed');
      expect(b.stages[1]).toEqual(
        expect.objectContaining({ status: 'failed', reason: 'timed out after 1 s' }),
      );
      expect(b.stages[1].duration as number).toBeGreaterThanOrEqual(1);
      expect(b.stages[1].duration as number).toBeLessThan(5);
      expect(b.stages[2].status).toBe('skipped');
      await eventually(async () => hostPids('sleep 3031').length === 0, 3000);
    });

    it('cancels a running build within moments (202 + Location), and refuses to cancel a finished one', async () => {
      const p = await pipeline({ stages: [{ name: 'long', commands: ['echo started', 'sleep 30'] }] });
      const { buildId } = await trigger(p.id);
      const running = await until(buildId, (b) => b.status === 'running' && b.currentStage === 'long');
      expect(running.stages[1]).toEqual(
        expect.objectContaining({
          status: 'running',
          progress: expect.any(Number),
          startedAt: expect.stringMatching(ISO),
        }),
      );
      await as(viewer.token).post(`/v2/builds/${buildId}/cancel`).expect(403);
      await as(outsider.token).post(`/v2/builds/${buildId}/cancel`).expect(403);
      const asked = Date.now();
      const res = await as(developer.token).post(`/v2/builds/${buildId}/cancel`).expect(202);
      expect(res.headers.location).toBe(`/v2/builds/${buildId}`);
      const b = await finished(buildId, 5000);
      expect(Date.now() - asked).toBeLessThan(4000);
      expect(b.status).toBe('cancelled');
      expect(b.stages[1]).toEqual(expect.objectContaining({ status: 'cancelled', reason: 'cancelled' }));
      expect(b.error).toBeNull();
      const again = await as(developer.token).post(`/v2/builds/${buildId}/cancel`).expect(409);
      expectEnvelope(again.body, 'CONFLICT');
    });

    it('skips the stages named test when skipTests is set', async () => {
      const b = await finished((await trigger(main.id, { skipTests: true })).buildId);
      expect(b.status).toBe('success');
      expect(b.stages.map((s) => [s.name, s.status])).toEqual([
        ['checkout', 'success'],
        ['build', 'success'],
        ['test', 'skipped'],
        ['deploy', 'success'],
      ]);
      expect(await logText(b.buildId)).not.toContain('tested');
    });

    it('gives variables to the commands and never stores their values', async () => {
      const secret = 's3cr3t-value-123';
      const p = await pipeline({
        stages: [
          {
            name: 'env',
            commands: [
              'echo "token=$API_TOKEN"',
              // written in two pieces 0.3 s apart: the masker must still recognise it
              'echo "$API_TOKEN" | (head -c 7; sleep 0.3; cat)',
              'echo "$GREETING-there $RETRIES"',
              'env | sort | grep -v -e ^PWD= -e ^SHLVL= -e ^_= -e ^OLDPWD=',
            ],
          },
        ],
      });
      const b = await finished(
        (await trigger(p.id, { variables: { API_TOKEN: secret, GREETING: 'hi', RETRIES: 3 } })).buildId,
      );
      expect(b.status).toBe('success');
      expect(b.variables).toEqual(['API_TOKEN', 'GREETING', 'RETRIES']);
      const log = await logText(b.buildId);
      expect(log).toContain('token=[MASKED]\n');
      expect(log).toContain('[MASKED]\n');
      expect(log).toContain('hi-there 3\n');
      expect(log).not.toContain('s3cr3t');
      // nothing of the worker's environment reaches a command
      expect(log).not.toMatch(/DATABASE_URL|JWT_SECRET|REDIS_URL|BOOTSTRAP_/);
      expect(log).toContain(`COCODE_BUILD_ID=${b.buildId}`);
      expect(log).toContain('CI=true');
      const stored = await system.sql<{ n: string }>(
        `SELECT count(*) AS n FROM build_log_events WHERE body LIKE '%s3cr3t%'`,
      );
      expect(Number(stored[0].n)).toBe(0);
      const [row] = await system.sql<{ variables: object }>(`SELECT variables FROM builds WHERE id = $1`, [
        b.buildId,
      ]);
      expect(row.variables).toEqual({});
    });

    it('refuses bad trigger bodies (422)', async () => {
      for (const [body, field] of [
        [{ branch: '--upload-pack=x' }, 'branch'],
        [{ commit: 'HEAD~1' }, 'commit'],
        [{ environment: 'production' }, 'environment'],
        [{ variables: { '1BAD': 'x' } }, 'variables'],
        [{ variables: { A: { nested: true } } }, 'variables'],
        [{ skipTests: 'yes' }, 'skipTests'],
      ] as const) {
        const res = await as(developer.token).post(`/v2/pipelines/${main.id}/trigger`, body).expect(422);
        expect(expectEnvelope(res.body, 'VALIDATION_ERROR').details.fields).toEqual([
          expect.objectContaining({ field }),
        ]);
      }
    });

    it('fails the checkout stage of a repository that does not exist, and skips the rest', async () => {
      const p = await pipeline({
        repositoryUrl: `file://${join(tmp, 'no-such-repo')}`,
        stages: [{ name: 'build', commands: ['echo never'] }],
      });
      const b = await finished((await trigger(p.id)).buildId);
      expect(b.status).toBe('failed');
      expect(b.error).toMatch(/^checkout failed: .*no-such-repo is not a repository on this worker/);
      expect(b.stages).toEqual([
        expect.objectContaining({
          name: 'checkout',
          status: 'failed',
          reason: expect.stringMatching(/no-such-repo is not a repository on this worker/),
        }),
        { name: 'build', status: 'skipped' },
      ]);
      expect(await logText(b.buildId)).toMatch(/not a repository on this worker/);
    });

    it('streams the log as events, live and resumable with Last-Event-ID', async () => {
      const p = await pipeline({
        stages: [{ name: 'slow', commands: ['echo first', 'sleep 1', 'echo second'] }],
      });
      const { buildId } = await trigger(p.id);
      const auth = { authorization: `Bearer ${viewer.token}` };
      const url = `${system.gateway.url}/v2/builds/${buildId}/logs`;
      const live = await readSse(url, auth);
      expect(live.status).toBe(200);
      expect(live.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      expect(live.ended).toBe(true);
      const events = live.events;
      const ids = events.map((e) => e.id!);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      expect(new Set(ids).size).toBe(ids.length);
      const text = events
        .filter((e) => e.event === 'log')
        .map((e) => (e.data as { text: string }).text)
        .join('');
      expect(text).toBe(await logText(buildId));
      const firstAt = events.find(
        (e) => e.event === 'log' && (e.data as { text: string }).text.includes('first'),
      )!.at;
      const last = events[events.length - 1];
      expect(last).toEqual(
        expect.objectContaining({ event: 'status', data: expect.objectContaining({ status: 'success' }) }),
      );
      // "first" arrived while the build was still running, well before its end
      expect(last.at - firstAt).toBeGreaterThan(700);
      expect(events.filter((e) => e.event === 'stage').map((e) => e.data)).toContainEqual(
        expect.objectContaining({ name: 'slow', status: 'success' }),
      );

      const resumeFrom = events[Math.floor(events.length / 2)].id!;
      const resumed = await readSse(url, { ...auth, 'last-event-id': String(resumeFrom) });
      expect(resumed.events.map((e) => e.id)).toEqual(ids.filter((id) => id > resumeFrom));
      const atEnd = await readSse(url, { ...auth, 'last-event-id': String(last.id) });
      expect(atEnd).toEqual(expect.objectContaining({ ended: true, events: [] }));
      await system.http.get(`/v2/builds/${buildId}/logs`).set('accept', 'text/event-stream').expect(401);
      const hidden = await readSse(url.replace(buildId, 'build_missing'), auth);
      expect(hidden.status).toBe(404);
    });

    it('publishes build.started and build.completed through the outbox', async () => {
      const { buildId } = await trigger(main.id);
      await finished(buildId);
      const events = await system.sql<{ type: string; status: string }>(
        `SELECT payload->>'type' AS type, payload->'data'->'build'->>'status' AS status FROM outbox_messages
          WHERE name = 'event.fanout' AND payload->'data'->'build'->>'buildId' = $1 ORDER BY id`,
        [buildId],
      );
      expect(events).toEqual([
        { type: 'build.started', status: 'running' },
        { type: 'build.completed', status: 'success' },
      ]);
    });

    it('lists a pipeline’s builds, newest first, with filters', async () => {
      const res = await as(viewer.token)
        .get(`/v2/pipelines/${main.id}/builds?status=success&pageSize=2`)
        .expect(200);
      expect(res.body.pagination).toEqual(
        expect.objectContaining({ page: 1, pageSize: 2, totalItems: expect.any(Number) }),
      );
      expect(res.body.data.length).toBeGreaterThan(0);
      for (const b of res.body.data)
        expect(b).toEqual(expect.objectContaining({ pipelineId: main.id, status: 'success' }));
      await as(viewer.token).get(`/v2/pipelines/${main.id}/builds?status=weird`).expect(422);
    });

    it('replays a trigger sent twice with the same Idempotency-Key', async () => {
      const send = () =>
        system.http
          .post(`/v2/pipelines/${main.id}/trigger`)
          .auth(developer.token, { type: 'bearer' })
          .set('Idempotency-Key', `trigger-${main.id}`)
          .send({ skipTests: true });
      const first = await send().expect(202);
      const second = await send().expect(202);
      expect(second.body).toEqual(first.body);
      expect(second.headers['idempotent-replayed']).toBe('true');
      expect(second.headers.location).toBe(first.headers.location);
      await finished(first.body.buildId);
    });

    it('applies the project’s object-level rules to builds', async () => {
      const { buildId } = await trigger(main.id);
      await as(outsider.token).get(`/v2/builds/${buildId}`).expect(200); // internal project: visible
      await as(outsider.token).post(`/v2/pipelines/${main.id}/trigger`, {}).expect(403);
      const byDevops = await trigger(main.id, {}, devops.token);
      await as(viewer.token).post(`/v2/pipelines/${main.id}/trigger`, {}).expect(403);
      const hidden = await as(admin)
        .post('/v2/pipelines', {
          projectId: privateProject.id,
          name: 'hidden-ci',
          repositoryUrl: repo.url,
          stages: [{ name: 'a', commands: ['true'] }],
        })
        .expect(201);
      const hiddenBuild = await trigger(hidden.body.id, {}, admin);
      await as(outsider.token).get(`/v2/pipelines/${hidden.body.id}`).expect(404);
      await as(outsider.token).get(`/v2/builds/${hiddenBuild.buildId}`).expect(404);
      await as(outsider.token).get(`/v2/builds/${hiddenBuild.buildId}/logs`).expect(404);
      await as(outsider.token).post(`/v2/builds/${hiddenBuild.buildId}/cancel`).expect(404);
      await finished(hiddenBuild.buildId);
      await finished(buildId);
      await finished(byDevops.buildId);
    });

    it('refuses to delete a pipeline with a running build, then deletes one with its builds and artifacts', async () => {
      const p = await pipeline({ stages: [{ name: 'long', commands: ['sleep 30'] }] });
      const { buildId } = await trigger(p.id);
      await until(buildId, (b) => b.status === 'running');
      const refused = await as(devops.token).delete(`/v2/pipelines/${p.id}`).expect(409);
      expect(expectEnvelope(refused.body, 'CONFLICT').details).toEqual({ builds: [buildId] });
      await as(developer.token).post(`/v2/builds/${buildId}/cancel`).expect(202);
      await finished(buildId);
      await as(devops.token).delete(`/v2/pipelines/${p.id}`).expect(204);

      const builds = (await as(viewer.token).get(`/v2/pipelines/${main.id}/builds?pageSize=100`).expect(200))
        .body.data as Build[];
      const kept = builds.filter((b) => b.artifacts.length).map((b) => b.buildId);
      expect(kept.length).toBeGreaterThan(0);
      // The artifacts lie in the file store (FILE_STORE=postgres here), under builds/<id>/.
      const storedOf = async (id: string) =>
        (
          await system.sql<{ n: number }>(`SELECT count(*)::int AS n FROM stored_files WHERE key LIKE $1`, [
            `builds/${id}/%`,
          ])
        )[0].n;
      for (const id of kept) expect(await storedOf(id)).toBeGreaterThan(0);
      await as(devops.token).delete(`/v2/pipelines/${main.id}`).expect(204);
      for (const id of kept) expect(await storedOf(id)).toBe(0);
      await as(viewer.token).get(`/v2/builds/${kept[0]}`).expect(404);
      await as(viewer.token).get(`/v2/pipelines/${main.id}/builds`).expect(404);
    });
  });

  describe('the queue and a worker that dies', () => {
    it('queues while no worker runs (real positions, later estimates), fails the dead worker’s build, kills what it left', async () => {
      const slow = await pipeline({ stages: [{ name: 'hang', commands: ['exec sleep 3032'] }] });
      const quick = await pipeline({ stages: [{ name: 'a', commands: ['echo quick'] }] });
      const victim = await trigger(slow.id);
      await until(victim.buildId, (b) => b.currentStage === 'hang');
      await eventually(async () => hostPids('sleep 3032').length === 1);
      const [orphan] = hostPids('sleep 3032');
      expect(alive(orphan)).toBe(true);

      await system.worker.kill('SIGKILL');
      const queued = [];
      for (let i = 0; i < 3; i++) queued.push(await trigger(quick.id));
      expect(queued.map((q) => q.queuePosition)).toEqual([0, 1, 2]);
      const starts = queued.map((q) => Date.parse(q.estimatedStartTime));
      expect(starts[1]).toBeGreaterThanOrEqual(starts[0]);
      expect(starts[2]).toBeGreaterThanOrEqual(starts[1]);
      expect((await build(queued[2].buildId)).queuePosition).toBe(2);
      const cancelled = await as(developer.token).post(`/v2/builds/${queued[2].buildId}/cancel`).expect(202);
      expect(cancelled.body.status).toBe('cancelled');
      expect((await build(queued[1].buildId)).queuePosition).toBe(1);
      expect((await build(victim.buildId)).status).toBe('running');

      await system.worker.start();
      const dead = await finished(victim.buildId, 10000);
      expect(dead.status).toBe('failed');
      expect(dead.error).toMatch(/the worker running the build stopped .*its lease expired/);
      expect(dead.stages[1]).toEqual(expect.objectContaining({ name: 'hang', status: 'failed' }));
      await eventually(async () => !alive(orphan), 5000);
      for (const q of queued.slice(0, 2)) expect((await finished(q.buildId)).status).toBe('success');
      expect((await build(queued[2].buildId)).status).toBe('cancelled');
      await eventually(async () => readdirSync(workspaces).length === 0, 5000);
    });
  });
});
