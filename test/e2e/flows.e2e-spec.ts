import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { bareGit, GitRepo } from '../support/git-repo';
import { Receiver } from '../support/receiver';
import { eventually, expectEnvelope, TestSystem } from '../support/system';
import { sandboxTmpDir } from '../support/env';

type Flow = {
  flowId: string;
  status: string;
  gate: string | null;
  changeId: string | null;
  error: string | null;
  stages: Array<{ name: string; status: string; activationId: string | null; feedback: string | null }>;
};

/** Flows with the offline template provider: documents, a code stage on a real repository and build. */
describe('flows: a task taken through the agents in order, with gates', () => {
  jest.setTimeout(120_000);
  const tmp = sandboxTmpDir('cocode-flows-e2e-');
  const work = new GitRepo(join(tmp, 'work'));
  const originDir = join(tmp, 'origin.git');
  const originGit = bareGit(originDir, tmp);
  const receiver = new Receiver();
  let system: TestSystem;
  let admin: string;
  let pm: { id: string; token: string };
  let architect: { id: string; token: string };
  let developer: { id: string; token: string };
  let tester: { id: string; token: string };
  let viewer: { id: string; token: string };
  let project: { id: string };

  beforeAll(async () => {
    work.commit('base', { 'README.md': '# demo\n' });
    execFileSync('git', ['clone', '--quiet', '--bare', work.dir, originDir]);
    execFileSync('chmod', ['-R', 'a+rwX', originDir]);
    await receiver.start();
    system = await TestSystem.start({
      env: {
        WORKSPACES_ROOT: join(tmp, 'workspaces'),
        WEBHOOKS_ALLOW_PRIVATE: 'true',
        AGENTS_LEASE_MS: '2000',
      },
    });
    admin = await system.adminToken();
    [pm, architect, developer, tester, viewer] = await system.users(
      'product_manager',
      'architect',
      'developer',
      'tester',
      'viewer',
    );
    project = await system.project({
      key: 'FLOW',
      ownerId: pm.id,
      members: [architect.id, developer.id, tester.id, viewer.id],
      visibility: 'private',
    });
    const url = `file://${originDir}`;
    await system
      .as(admin)
      .put(`/v2/projects/${project.id}`, { repository: { url, defaultBranch: 'main' } })
      .expect(200);
    const pipeline = await system.pipeline(admin, {
      projectId: project.id,
      name: 'ci',
      stages: [{ name: 'test', commands: ['test -f README.md'] }],
    });
    await system
      .as(admin)
      .put(`/v2/projects/${project.id}`, {
        repository: { url, defaultBranch: 'main', pipelineId: pipeline.id },
      })
      .expect(200);
    await system
      .as(admin)
      .post('/v2/webhooks', {
        url: receiver.url('/flows'),
        events: ['flow.awaiting_approval', 'flow.completed', 'flow.failed'],
        projectId: project.id,
      })
      .expect(201);
  });
  afterAll(async () => {
    await system?.stop();
    await receiver.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  const as = (token: string) => system.as(token);
  const newTask = async (title: string) =>
    (
      await as(pm.token)
        .post(`/v2/projects/${project.id}/tasks`, { title, type: 'story', priority: 'medium' })
        .expect(201)
    ).body as { id: string; key: string };
  const flow = async (id: string) => (await as(admin).get(`/v2/flows/${id}`).expect(200)).body as Flow;
  const until = (id: string, statuses: string[]) =>
    eventually(async () => {
      const f = await flow(id);
      return statuses.includes(f.status) ? f : null;
    }, 90_000).catch(async (err: Error) => {
      throw new Error(
        `${err.message}: ${JSON.stringify(await flow(id))}\n${system.worker.output().slice(-3000)}`,
      );
    });

  it('runs product, stops at its gate, carries the approval’s comment on, builds the code, merges after the merge gate', async () => {
    const task = await newTask('checkout');
    const res = await as(pm.token)
      .post(`/v2/tasks/${task.id}/flows`, {
        stages: ['product', 'architecture', 'backend'],
        config: { provider: 'template' },
      })
      .expect(202);
    expect(res.headers.location).toBe(`/v2/flows/${res.body.flowId}`);
    expect(res.body.flowId).toMatch(/^flow_[0-9a-z]{16}$/);
    expect(res.body.gates).toEqual(['product', 'merge']);
    const id = res.body.flowId as string;

    let f = await until(id, ['awaiting_approval']);
    expect(f.gate).toBe('product');
    expect(f.stages.map((s) => s.status)).toEqual(['completed', 'pending', 'pending']);
    // The next stage is architecture: a developer may not approve, an architect may.
    await as(developer.token).post(`/v2/flows/${id}/approve`, {}).expect(403);
    await as(architect.token).post(`/v2/flows/${id}/approve`, { comment: 'Keep it small.' }).expect(200);

    f = await until(id, ['awaiting_approval', 'failed']);
    expect(f.error).toBeNull();
    expect(f.gate).toBe('merge');
    expect(f.stages.map((s) => s.status)).toEqual(['completed', 'completed', 'completed']);
    expect(f.stages[1].feedback).toBe('Keep it small.');
    // The architecture agent read the PRD the product stage wrote, and got the comment.
    const arch = (
      await as(admin).get(`/v2/agents/activations/${f.stages[1].activationId}/result`).expect(200)
    ).body;
    expect(arch.documents.map((d: { kind: string }) => d.kind)).toEqual(['prd']);
    const archProgress = (
      await as(admin).get(`/v2/agents/activations/${f.stages[1].activationId}/progress`).expect(200)
    ).body;
    expect(archProgress.status).toBe('completed');
    expect(f.changeId).toMatch(/^chg_/);
    const change = (await as(admin).get(`/v2/changes/${f.changeId}`).expect(200)).body;
    expect(change.buildStatus).toBe('success');

    const taskAt = async () =>
      (await as(admin).get(`/v2/tasks/${task.id}`).expect(200)).body.status as string;
    expect(await taskAt()).toBe('review');
    await as(tester.token).post(`/v2/flows/${id}/approve`, {}).expect(403);
    await as(developer.token).post(`/v2/flows/${id}/approve`, {}).expect(200);
    f = await until(id, ['completed', 'failed']);
    expect(f.status).toBe('completed');
    expect((await as(admin).get(`/v2/changes/${f.changeId}`).expect(200)).body.status).toBe('merged');
    expect(await taskAt()).toBe('done');
    const history = (await as(admin).get(`/v2/tasks/${task.id}/history`).expect(200)).body;
    expect(JSON.stringify(history)).toContain(`flow ${id}`);
    expect(originGit('ls-tree', '--name-only', '-r', 'main')).toContain(`docs/cocode/${task.key}-backend.md`);
    const events = await eventually(async () => {
      const got = receiver
        .at('/flows')
        .map((r) => JSON.parse(r.body) as { type: string; data: { flowId: string; gate?: string } })
        .filter((e) => e.data.flowId === id);
      return got.some((e) => e.type === 'flow.completed') ? got : null;
    });
    expect(events.filter((e) => e.type === 'flow.awaiting_approval').map((e) => e.data.gate)).toEqual([
      'product',
      'merge',
    ]);
    const listed = (await as(viewer.token).get(`/v2/flows?taskId=${task.id}`).expect(200)).body;
    expect(listed.data.map((x: Flow) => x.flowId)).toEqual([id]);
  });

  it('a rejected gate ends the flow; cancel stops a running one; roles and bad input are refused', async () => {
    const task = await newTask('rejected');
    await as(viewer.token).post(`/v2/tasks/${task.id}/flows`, {}).expect(403);
    await as(architect.token).post(`/v2/tasks/${task.id}/flows`, {}).expect(403); // product comes first
    expectEnvelope(
      (
        await as(pm.token)
          .post(`/v2/tasks/${task.id}/flows`, { stages: ['product'], gates: ['backend'] })
          .expect(422)
      ).body,
      'VALIDATION_ERROR',
    );
    await as(pm.token).post(`/v2/tasks/task_missing0000000/flows`, {}).expect(404);

    const id = (
      await as(pm.token)
        .post(`/v2/tasks/${task.id}/flows`, {
          stages: ['product', 'architecture'],
          config: { provider: 'template' },
        })
        .expect(202)
    ).body.flowId as string;
    const first = await until(id, ['awaiting_approval']);
    // The product stage runs again with the comment (a product manager's stage), then waits again.
    await as(architect.token).post(`/v2/flows/${id}/retry-stage`, { comment: 'more detail' }).expect(403);
    const retried = (
      await as(pm.token).post(`/v2/flows/${id}/retry-stage`, { comment: 'more detail' }).expect(200)
    ).body as Flow;
    expect(retried.status).toBe('running');
    const again = await until(id, ['awaiting_approval']);
    expect(again.stages[0].feedback).toBe('more detail');
    expect(again.stages[0].activationId).not.toBe(first.stages[0].activationId);
    const rejected = (
      await as(architect.token).post(`/v2/flows/${id}/reject`, { comment: 'not now' }).expect(200)
    ).body as Flow;
    expect(rejected.status).toBe('rejected');
    expect(rejected.error).toBe('Rejected at the product gate: not now');
    await as(architect.token).post(`/v2/flows/${id}/approve`, {}).expect(409);

    const running = (
      await as(pm.token)
        .post(`/v2/tasks/${task.id}/flows`, {
          stages: ['product', 'architecture'],
          gates: [],
          config: { provider: 'template' },
        })
        .expect(202)
    ).body.flowId as string;
    const cancelled = (await as(pm.token).post(`/v2/flows/${running}/cancel`, {}).expect(200)).body as Flow;
    expect(cancelled.status).toBe('cancelled');
    await as(pm.token).post(`/v2/flows/${running}/cancel`, {}).expect(409);
    await as(admin).get('/v2/flows/flow_missing0000000').expect(404);
  });
});
