import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { bareGit, GitRepo } from '../support/git-repo';
import { Receiver } from '../support/receiver';
import { BUILD_DONE, eventually, expectEnvelope, TestSystem } from '../support/system';
import { sandboxTmpDir } from '../support/env';

type Session = { id: string; token: string };
type Change = {
  id: string;
  status: string;
  headSha: string;
  commits: Array<{ sha: string; message: string; author: string }>;
  diffStat: { files: number; additions: number; deletions: number };
  buildId: string | null;
  buildStatus: string | null;
  mergeRequestedAt: string | null;
  mergeError: string | null;
  mergedAt: string | null;
  mergedBy: string | null;
  [key: string]: unknown;
};

describe('changes: opened from a branch, read with the project’s visibility, merged after a green build', () => {
  const tmp = sandboxTmpDir('cocode-changes-e2e-');
  const work = new GitRepo(join(tmp, 'work'));
  const originDir = join(tmp, 'origin.git');
  const origin = `file://${originDir}`;
  const receiver = new Receiver();
  let system: TestSystem;
  let admin: string;
  let developer: Session; // member: merges
  let tester: Session; // member: may not merge
  let viewer: Session; // member: reads only
  let outsider: Session; // developer, not a member
  let otherViewer: Session; // viewer of another private project
  let project: { id: string };
  let pipeline: { id: string };
  let base: string;
  const branches: Record<string, string> = {};

  /** The origin's view of a ref. */
  const originGit = bareGit(originDir, tmp);

  beforeAll(async () => {
    base = work.commit('base', { 'README.md': '# demo\n', 'src/app.ts': 'export const app = 1;\n' });
    const branch = (name: string, files: Record<string, string>) => {
      work.branch(name, 'main');
      branches[name] = work.commit(`${name}: work`, files);
      work.checkout('main');
    };
    branch('cocode/DEMO-1-backend-1', {
      'src/login.ts': 'export function login() {\n  return true;\n}\n',
      'src/app.ts': 'export const app = 2;\n',
    });
    branch('cocode/DEMO-2-backend-1', { 'src/logout.ts': 'export const logout = () => true;\n' });
    branch('cocode/DEMO-3-frontend-1', { 'web/index.html': '<h1>demo</h1>\n' });
    branch('cocode/DEMO-4-backend-2', { 'src/app.ts': 'export const app = 4;\n' });
    work.publishBare(originDir); // the sandbox's uid pushes into it
    await receiver.start();
    system = await TestSystem.start({
      env: { WORKSPACES_ROOT: join(tmp, 'workspaces'), WEBHOOKS_ALLOW_PRIVATE: 'true' },
    });
    admin = await system.adminToken();
    [developer, tester, viewer, outsider, otherViewer] = await system.users(
      'developer',
      'tester',
      'viewer',
      'developer',
      'viewer',
    );
    project = await system.project({
      key: 'DEMO',
      ownerId: developer.id,
      members: [tester.id, viewer.id],
      visibility: 'private',
    });
    await system.project({ key: 'OTHER', ownerId: otherViewer.id, visibility: 'private' });
    await system
      .as(admin)
      .post('/v2/webhooks', {
        url: receiver.url('/changes'),
        events: ['change.opened', 'change.merged'],
        projectId: project.id,
      })
      .expect(201);
    pipeline = await system.pipeline(admin, {
      projectId: project.id,
      name: 'ci',
      repositoryUrl: origin,
      defaultBranch: 'main',
      stages: [{ name: 'test', commands: ['test -f src/app.ts', 'test "$CI_RESULT" = pass'] }],
    });
  });
  afterAll(async () => {
    await system?.stop();
    await receiver.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  const as = (token: string) => system.as(token);

  /** Opens a change the way the code agents do: the change.open job on the changes queue. */
  const open = async (branch: string, extra: object = {}): Promise<Change> => {
    const job = await system.queue('changes').add('change.open', {
      projectId: project.id,
      taskId: null,
      activationId: null,
      repositoryUrl: origin,
      branch,
      baseBranch: 'main',
      baseSha: base,
      headSha: branches[branch],
      ...extra,
    });
    const result = await eventually(async () => {
      const state = await job.getState();
      if (state === 'failed')
        throw new Error(
          `change.open failed: ${(await system.queue('changes').getJob(job.id!))?.failedReason}`,
        );
      if (state !== 'completed') return null;
      return (await system.queue('changes').getJob(job.id!))?.returnvalue as { changeId: string };
    }, 30000);
    return (await as(admin).get(`/v2/changes/${result.changeId}`).expect(200)).body as Change;
  };
  const build = async (branch: string, result: 'pass' | 'fail') => {
    const res = await as(developer.token)
      .post(`/v2/pipelines/${pipeline.id}/trigger`, { branch, variables: { CI_RESULT: result } })
      .expect(202);
    return system.settled<{ buildId: string; status: string }>(
      admin,
      `/v2/builds/${res.body.buildId}`,
      BUILD_DONE,
      60000,
    );
  };
  const settledMerge = (id: string) =>
    eventually(async () => {
      const c = (await as(admin).get(`/v2/changes/${id}`).expect(200)).body as Change;
      return c.status !== 'open' || (!c.mergeRequestedAt && c.mergeError) ? c : null;
    }, 60000);

  let first: Change;

  it('opens a change with its commits and diff stat read from the repository, and announces it', async () => {
    first = await open('cocode/DEMO-1-backend-1');
    expect(first).toEqual(
      expect.objectContaining({
        id: expect.stringMatching(/^chg_[0-9a-z]{16}$/),
        projectId: project.id,
        branch: 'cocode/DEMO-1-backend-1',
        baseBranch: 'main',
        baseSha: base,
        headSha: branches['cocode/DEMO-1-backend-1'],
        status: 'open',
        buildId: null,
        buildStatus: null,
        testSummary: null,
        mergedAt: null,
        mergedBy: null,
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      }),
    );
    expect(first.commits).toEqual([
      {
        sha: branches['cocode/DEMO-1-backend-1'],
        message: 'cocode/DEMO-1-backend-1: work',
        author: 'Test <test@example.com>',
      },
    ]);
    expect(first.diffStat).toEqual({ files: 2, additions: 4, deletions: 1 });
    expect(first).not.toHaveProperty('repositoryUrl');
    const opened = await eventually(async () =>
      receiver.at('/changes').find((r) => JSON.parse(r.body).type === 'change.opened'),
    );
    expect(JSON.parse(opened.body).data.change).toEqual(expect.objectContaining({ id: first.id }));
  });

  it('refuses to open a change from a URL with credentials, or of an unknown project, and opens nothing', async () => {
    for (const extra of [
      { repositoryUrl: 'https://bot:s3cret@git.example.com/demo.git' },
      { projectId: 'prj_0000000000000000' },
    ]) {
      const job = await system.queue('changes').add('change.open', {
        projectId: project.id,
        repositoryUrl: origin,
        branch: 'cocode/DEMO-9-backend-1',
        baseBranch: 'main',
        baseSha: base,
        headSha: branches['cocode/DEMO-1-backend-1'],
        ...extra,
      });
      const failed = await eventually(async () =>
        (await job.getState()) === 'failed' ? system.queue('changes').getJob(job.id!) : null,
      );
      expect(failed?.failedReason).toMatch(extra.projectId ? /Project not found/ : /credentials/);
      expect(failed?.failedReason).not.toContain('s3cret');
    }
    const all = await as(admin).get(`/v2/projects/${project.id}/changes`).expect(200);
    expect(all.body.data.map((c: Change) => c.branch)).toEqual(['cocode/DEMO-1-backend-1']);
  });

  it('serves the unified diff as text/x-diff', async () => {
    const res = await as(viewer.token).get(`/v2/changes/${first.id}/diff`).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/x-diff/);
    expect(res.text).toContain('diff --git a/src/login.ts b/src/login.ts');
    expect(res.text).toContain('+export function login() {');
    expect(res.text).toContain('-export const app = 1;');
  });

  it('opening the same branch again moves the open change, not a second one', async () => {
    const again = await open('cocode/DEMO-1-backend-1');
    expect(again.id).toBe(first.id);
  });

  it('lists a project’s changes by status', async () => {
    const closing = await open('cocode/DEMO-3-frontend-1');
    await as(developer.token).post(`/v2/changes/${closing.id}/close`).expect(200);
    const opened = await as(viewer.token).get(`/v2/projects/${project.id}/changes?status=open`).expect(200);
    expect(opened.body.data.map((c: Change) => c.id)).toEqual([first.id]);
    const closed = await as(viewer.token).get(`/v2/projects/${project.id}/changes?status=closed`).expect(200);
    expect(closed.body.data.map((c: Change) => c.id)).toEqual([closing.id]);
    expect(closed.body.data[0]).toEqual(
      expect.objectContaining({ status: 'closed', closedBy: developer.id }),
    );
    const all = await as(viewer.token).get(`/v2/projects/${project.id}/changes`).expect(200);
    expect(all.body.pagination).toEqual(expect.objectContaining({ totalItems: 2 }));
    const bad = await as(viewer.token).get(`/v2/projects/${project.id}/changes?status=draft`).expect(422);
    expectEnvelope(bad.body, 'VALIDATION_ERROR');
    // A closed change is not merged, nor closed again.
    const merge = await as(admin).post(`/v2/changes/${closing.id}/merge`, { force: true }).expect(409);
    expectEnvelope(merge.body, 'CONFLICT');
    await as(developer.token).post(`/v2/changes/${closing.id}/close`).expect(409);
  });

  it('hides the change from a non-member and from a viewer of another private project (404)', async () => {
    for (const who of [outsider, otherViewer]) {
      for (const path of [
        `/v2/changes/${first.id}`,
        `/v2/changes/${first.id}/diff`,
        `/v2/projects/${project.id}/changes`,
      ]) {
        const res = await as(who.token).get(path).expect(404);
        expectEnvelope(res.body, 'NOT_FOUND');
      }
    }
    expectEnvelope(
      (await as(outsider.token).post(`/v2/changes/${first.id}/merge`, {}).expect(404)).body,
      'NOT_FOUND',
    );
    expectEnvelope(
      (await as(outsider.token).post(`/v2/changes/${first.id}/close`).expect(404)).body,
      'NOT_FOUND',
    );
  });

  it('answers 404 in the envelope for unknown ids, 422 for a bad merge body', async () => {
    for (const path of ['/v2/changes/chg_nope', '/v2/changes/chg_nope/diff', '/v2/projects/prj_nope/changes'])
      expectEnvelope((await as(admin).get(path).expect(404)).body, 'NOT_FOUND');
    expectEnvelope((await as(admin).post('/v2/changes/chg_nope/merge', {}).expect(404)).body, 'NOT_FOUND');
    const bad = await as(admin).post(`/v2/changes/${first.id}/merge`, { force: 'yes' }).expect(422);
    expectEnvelope(bad.body, 'VALIDATION_ERROR');
  });

  it('refuses a merge by a tester or a viewer (403) and while the head has no green build (409)', async () => {
    for (const who of [tester, viewer])
      expectEnvelope(
        (await as(who.token).post(`/v2/changes/${first.id}/merge`, {}).expect(403)).body,
        'FORBIDDEN',
      );
    const none = await as(developer.token).post(`/v2/changes/${first.id}/merge`, {}).expect(409);
    expect(expectEnvelope(none.body, 'CONFLICT').details).toEqual(
      expect.objectContaining({ buildStatus: null, headSha: first.headSha }),
    );
    // Only an administrator may force.
    await as(developer.token).post(`/v2/changes/${first.id}/merge`, { force: true }).expect(403);
    const failed = await build('cocode/DEMO-1-backend-1', 'fail');
    expect(failed.status).toBe('failed');
    const change = (await as(developer.token).get(`/v2/changes/${first.id}`).expect(200)).body as Change;
    expect(change).toEqual(expect.objectContaining({ buildId: failed.buildId, buildStatus: 'failed' }));
    const refused = await as(developer.token).post(`/v2/changes/${first.id}/merge`, {}).expect(409);
    expect(expectEnvelope(refused.body, 'CONFLICT').details).toEqual(
      expect.objectContaining({ buildId: failed.buildId, buildStatus: 'failed' }),
    );
  });

  it('merges after a green build of the head: main fast-forwards, the change is merged, subscribers hear it', async () => {
    const green = await build('cocode/DEMO-1-backend-1', 'pass');
    expect(green.status).toBe('success');
    const accepted = await as(developer.token).post(`/v2/changes/${first.id}/merge`, {}).expect(202);
    expect(accepted.headers.location).toBe(`/v2/changes/${first.id}`);
    expect(accepted.body).toEqual(
      expect.objectContaining({
        status: 'open',
        buildStatus: 'success',
        mergeRequestedAt: expect.any(String),
      }),
    );
    // A second merge while this one runs (or after it) is refused.
    expectEnvelope(
      (await as(developer.token).post(`/v2/changes/${first.id}/merge`, {}).expect(409)).body,
      'CONFLICT',
    );
    const merged = await settledMerge(first.id);
    expect(merged).toEqual(
      expect.objectContaining({
        status: 'merged',
        mergedBy: developer.id,
        mergedAt: expect.any(String),
        mergeError: null,
        mergeSha: first.headSha,
      }),
    );
    expect(originGit('rev-parse', 'refs/heads/main')).toBe(first.headSha);
    const hook = await eventually(async () =>
      receiver.at('/changes').find((r) => JSON.parse(r.body).type === 'change.merged'),
    );
    expect(JSON.parse(hook.body).data).toEqual(
      expect.objectContaining({
        change: expect.objectContaining({ id: first.id, status: 'merged', mergedBy: developer.id }),
        mergedBy: developer.id,
      }),
    );
    const again = await as(developer.token).post(`/v2/changes/${first.id}/merge`, {}).expect(409);
    expectEnvelope(again.body, 'CONFLICT');
    await as(developer.token).post(`/v2/changes/${first.id}/close`).expect(409);
  });

  it('lets an administrator force a merge without a green build: a merge commit by the platform', async () => {
    const second = await open('cocode/DEMO-2-backend-1');
    await as(developer.token).post(`/v2/changes/${second.id}/merge`, {}).expect(409);
    await as(admin).post(`/v2/changes/${second.id}/merge`, { force: true }).expect(202);
    const merged = await settledMerge(second.id);
    expect(merged.status).toBe('merged');
    const main = originGit('rev-parse', 'refs/heads/main');
    expect(merged.mergeSha).toBe(main);
    // main had moved on (the first change): both parents are kept.
    expect(originGit('rev-list', '--parents', '-n', '1', main).split(' ').slice(1)).toEqual([
      first.headSha,
      second.headSha,
    ]);
    expect(originGit('log', '-1', '--format=%an <%ae>', main)).toBe('OpenClaw CoCode <cocode@localhost>');
    expect(originGit('show', `${main}:src/logout.ts`)).toContain('logout');
  });

  it('leaves a change that conflicts open, with the reason, and main untouched', async () => {
    const conflicting = await open('cocode/DEMO-4-backend-2');
    const before = originGit('rev-parse', 'refs/heads/main');
    await as(admin).post(`/v2/changes/${conflicting.id}/merge`, { force: true }).expect(202);
    const failed = await settledMerge(conflicting.id);
    expect(failed.status).toBe('open');
    expect(failed.mergeError).toMatch(/conflict/i);
    expect(originGit('rev-parse', 'refs/heads/main')).toBe(before);
  });
});
