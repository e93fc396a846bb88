import { createReadStream, rmSync, statSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import { GitRepo } from '../support/git-repo';
import { sandboxTmpDir } from '../support/env';
import { BUILD_DONE, expectEnvelope, TestSystem } from '../support/system';

type Session = { id: string; token: string };
type Repository = { url: string; defaultBranch: string; pipelineId: string | null; hasCredentials: boolean };
type Build = { buildId: string; status: string; commit: string | null; error: string | null };

const TOKEN = 'glpat-Pr0jectRepoT0ken-e2e';
const USERNAME = 'ci-bot';

/**
 * A git server over "dumb" HTTP that wants Basic credentials: the static files of a repository's
 * .git directory, for USERNAME:TOKEN only. It counts the requests that carried them.
 */
function dumbGitServer(repo: GitRepo): { server: Server; authorized: () => number } {
  let authorized = 0;
  const expected = `Basic ${Buffer.from(`${USERNAME}:${TOKEN}`).toString('base64')}`;
  const server = createServer((req, res) => {
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' }).end();
      return;
    }
    authorized++;
    const path = normalize(decodeURIComponent(new URL(req.url!, 'http://x').pathname)).replace(
      /^\/repo\.git\/?/,
      '',
    );
    const file = join(repo.dir, '.git', path);
    if (path.includes('..') || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  return { server, authorized: () => authorized };
}

describe("projects' repositories: set, clear, validation, encrypted credentials, pipelines that follow", () => {
  const tmp = sandboxTmpDir('cocode-project-repo-e2e-');
  const repo = new GitRepo(join(tmp, 'repo'));
  const other = new GitRepo(join(tmp, 'other'));
  const git = dumbGitServer(repo);
  let httpUrl: string;
  let system: TestSystem;
  let pm: Session; // owner: product managers change projects
  let devops: Session; // member: defines pipelines, may not change the project
  let outsider: Session; // a product manager, no member
  let project: { id: string };
  let bare: { id: string }; // a project without a repository
  let foreignPipeline: { id: string };

  beforeAll(async () => {
    repo.commit('v1', { 'version.txt': 'from http\n' });
    repo.git('update-server-info');
    other.commit('o1', { 'version.txt': 'from file\n' });
    await new Promise<void>((resolve) => git.server.listen(0, '127.0.0.1', resolve));
    httpUrl = `http://127.0.0.1:${(git.server.address() as AddressInfo).port}/repo.git`;
    // On the host: a sandbox's network never reaches the host's loopback, where this git server is.
    system = await TestSystem.start({
      env: { WORKSPACES_ROOT: join(tmp, 'workspaces'), SANDBOX: 'none' },
    });
    [pm, devops, outsider] = await system.users('product_manager', 'devops', 'product_manager');
    const mk = (key: string) =>
      system.project({ key, ownerId: pm.id, members: [devops.id], visibility: 'private' }, pm.token);
    project = await mk('REPO');
    bare = await mk('BARE');
    const third = await mk('THIRD');
    foreignPipeline = await system.pipeline(devops.token, {
      projectId: third.id,
      name: 'foreign',
      repositoryUrl: other.url,
      stages: [{ name: 'a', commands: ['true'] }],
    });
  });
  afterAll(async () => {
    await system?.stop();
    await new Promise((resolve) => git.server.close(resolve));
    rmSync(tmp, { recursive: true, force: true });
  });

  const as = (token: string) => system.as(token);
  const put = (body: object, token = pm.token, id = project.id) => as(token).put(`/v2/projects/${id}`, body);
  const repositoryOf = async (id = project.id): Promise<Repository | null> =>
    (await as(pm.token).get(`/v2/projects/${id}`).expect(200)).body.repository;
  const projectRow = async () =>
    (await system.sql<Record<string, unknown>>(`SELECT * FROM projects WHERE id = $1`, [project.id]))[0];
  const finished = (id: string) => system.settled<Build>(devops.token, `/v2/builds/${id}`, BUILD_DONE, 30000);
  const trigger = async (pipelineId: string) =>
    (await as(devops.token).post(`/v2/pipelines/${pipelineId}/trigger`, {}).expect(202)).body
      .buildId as string;
  const logOf = async (buildId: string) =>
    (await as(devops.token).get(`/v2/builds/${buildId}/logs`).expect(200)).text;
  const stages = [{ name: 'show', commands: ['cat version.txt', 'git remote get-url origin'] }];

  it('starts without a repository: null on POST and GET', async () => {
    const created = await system.project({ key: 'FRESH', ownerId: pm.id }, pm.token);
    expect(created.repository).toBeNull();
    expect(await repositoryOf()).toBeNull();
  });

  it('sets the repository; the credentials are stored encrypted and never shown', async () => {
    const res = await put({
      repository: { url: httpUrl, credentials: { username: USERNAME, token: TOKEN } },
    }).expect(200);
    expect(res.body.repository).toEqual({
      url: httpUrl,
      defaultBranch: 'main',
      pipelineId: null,
      hasCredentials: true,
    });
    expect(JSON.stringify(res.body)).not.toContain(TOKEN);
    const list = await as(pm.token).get('/v2/projects?pageSize=100').expect(200);
    expect(JSON.stringify(list.body)).not.toContain(TOKEN);
    expect(list.body.data.find((p: { id: string }) => p.id === project.id).repository.hasCredentials).toBe(
      true,
    );

    const row = await projectRow();
    expect(row.repository_url).toBe(httpUrl);
    expect(row.repository_credentials).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(JSON.stringify(row)).not.toContain(TOKEN);
    expect(JSON.stringify(row)).not.toContain(Buffer.from(TOKEN).toString('base64'));
    const audit = await system.sql(`SELECT * FROM audit_logs WHERE target_id = $1`, [project.id]);
    expect(audit.length).toBeGreaterThan(0);
    expect(JSON.stringify(audit)).not.toContain(TOKEN);
  });

  it('keeps the credentials when they are left out on the same host, and says so', async () => {
    const res = await put({ repository: { url: httpUrl, defaultBranch: 'main' } }).expect(200);
    expect(res.body.repository.hasCredentials).toBe(true);
  });

  describe('refuses bad input with 422 naming the field, and changes nothing', () => {
    it.each([
      ['a URL that is not git', { url: 'not a url' }, 'repository.url'],
      ['option injection as a URL', { url: '--upload-pack=touch /tmp/x' }, 'repository.url'],
      ['a password in the URL', { url: 'https://ci:s3cret@git.example.com/a.git' }, 'repository.url'],
      ['a bad branch', { url: httpUrl, defaultBranch: 'a..b' }, 'repository.defaultBranch'],
      ['a branch with a space', { url: httpUrl, defaultBranch: 'my branch' }, 'repository.defaultBranch'],
      [
        'credentials without a token',
        { url: httpUrl, credentials: { username: 'x' } },
        'repository.credentials.token',
      ],
      [
        'credentials for a file:// URL',
        { url: 'file:///tmp/x', credentials: { token: TOKEN } },
        'repository.credentials',
      ],
      ['no URL', { defaultBranch: 'main' }, 'repository.url'],
    ])('%s', async (_label, repository, field) => {
      const before = await projectRow();
      const res = await put({ repository }).expect(422);
      const error = expectEnvelope(res.body, 'VALIDATION_ERROR');
      expect((error.details.fields as Array<{ field: string }>).map((f) => f.field)).toContain(field);
      expect(JSON.stringify(res.body)).not.toContain(TOKEN);
      expect(await projectRow()).toEqual(before);
    });

    it('a pipelineId of another project, or of none', async () => {
      for (const pipelineId of [foreignPipeline.id, 'pipe_doesnotexist00']) {
        const res = await put({ repository: { url: httpUrl, pipelineId } }).expect(422);
        expect(expectEnvelope(res.body, 'VALIDATION_ERROR').details.fields).toEqual([
          expect.objectContaining({ field: 'repository.pipelineId', code: 'unknown_pipeline' }),
        ]);
      }
      expect((await repositoryOf())!.pipelineId).toBeNull();
    });
  });

  it('lets only those who may change the project change its repository: 404 for outsiders, 403 for members without projects:write', async () => {
    const body = { repository: { url: other.url } };
    expectEnvelope((await put(body, outsider.token).expect(404)).body, 'NOT_FOUND');
    expectEnvelope((await put(body, devops.token).expect(403)).body, 'FORBIDDEN');
    expect((await repositoryOf())!.url).toBe(httpUrl);
  });

  it('refuses a pipeline without repositoryUrl in a project without a repository (422 on repositoryUrl)', async () => {
    const res = await as(devops.token)
      .post('/v2/pipelines', { projectId: bare.id, name: 'x', stages })
      .expect(422);
    expect(expectEnvelope(res.body, 'VALIDATION_ERROR').details.fields).toEqual([
      expect.objectContaining({ field: 'repositoryUrl' }),
    ]);
  });

  let follower: { id: string };
  let own: { id: string };

  it("builds a pipeline without repositoryUrl from the project's repository, with its credentials, never logged", async () => {
    follower = await system.pipeline(devops.token, { projectId: project.id, name: 'follower', stages });
    expect(follower).toMatchObject({
      repositoryUrl: httpUrl,
      repositoryFromProject: true,
      defaultBranch: 'main',
    });
    own = await system.pipeline(devops.token, {
      projectId: project.id,
      name: 'own',
      repositoryUrl: other.url,
      stages,
    });
    expect(own).toMatchObject({
      repositoryUrl: other.url,
      repositoryFromProject: false,
      defaultBranch: 'main',
    });

    const seen = git.authorized();
    const buildId = await trigger(follower.id);
    const build = await finished(buildId);
    expect(build).toMatchObject({ status: 'success', commit: repo.commits.v1 });
    expect(git.authorized()).toBeGreaterThan(seen);
    const log = await logOf(buildId);
    expect(log).toContain('from http');
    expect(log).toContain(`$ git clone ${httpUrl}`);
    // The checkout's origin is the plain URL: the job's commands do not find the token in .git/config.
    expect(log).toContain(`\n${httpUrl}\n`);
    expect(log).not.toContain(TOKEN);
    expect(log).not.toContain('[MASKED]');
    const full = await as(devops.token).get(`/v2/builds/${buildId}`).expect(200);
    expect(JSON.stringify(full.body)).not.toContain(TOKEN);
    const rows = await system.sql(`SELECT * FROM builds WHERE id = $1`, [buildId]);
    expect(rows[0]).toMatchObject({ repository_url: httpUrl, project_credentials: true });
    expect(JSON.stringify(rows)).not.toContain(TOKEN);
    const events = await system.sql(`SELECT * FROM build_log_events WHERE build_id = $1`, [buildId]);
    expect(JSON.stringify(events)).not.toContain(TOKEN);
  });

  it('names a pipeline of the project as its main one; deleting that pipeline clears it', async () => {
    const res = await put({ repository: { url: httpUrl, pipelineId: own.id } }).expect(200);
    expect(res.body.repository).toEqual({
      url: httpUrl,
      defaultBranch: 'main',
      pipelineId: own.id,
      hasCredentials: true,
    });
    await as(devops.token).delete(`/v2/pipelines/${own.id}`).expect(204);
    expect((await repositoryOf())!.pipelineId).toBeNull();
  });

  it("follows the project's later changes; credentials do not follow the URL to another host", async () => {
    const res = await put({ repository: { url: other.url, defaultBranch: 'main' } }).expect(200);
    expect(res.body.repository).toEqual({
      url: other.url,
      defaultBranch: 'main',
      pipelineId: null,
      hasCredentials: false,
    });
    expect((await projectRow()).repository_credentials).toBeNull();
    const pipeline = (await as(devops.token).get(`/v2/pipelines/${follower.id}`).expect(200)).body;
    expect(pipeline).toMatchObject({ repositoryUrl: other.url, repositoryFromProject: true });
    const build = await finished(await trigger(follower.id));
    expect(build).toMatchObject({ status: 'success', commit: other.commits.o1 });
  });

  it('clears the repository with null; a pipeline following it cannot be triggered (409)', async () => {
    await put({ repository: { url: httpUrl, credentials: { token: TOKEN } } }).expect(200);
    const res = await put({ repository: null }).expect(200);
    expect(res.body.repository).toBeNull();
    const row = await projectRow();
    expect(row).toMatchObject({
      repository_url: null,
      repository_default_branch: null,
      repository_pipeline_id: null,
      repository_credentials: null,
    });
    const pipeline = (await as(devops.token).get(`/v2/pipelines/${follower.id}`).expect(200)).body;
    expect(pipeline).toMatchObject({ repositoryUrl: null, repositoryFromProject: true });
    const refused = await as(devops.token).post(`/v2/pipelines/${follower.id}/trigger`, {}).expect(409);
    expectEnvelope(refused.body, 'CONFLICT');
  });
});
