import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { turns, withClaudeCode } from '../support/claude-code';
import { FakeAnthropic } from '../support/fake-anthropic';
import { bareGit, GitRepo } from '../support/git-repo';
import { Receiver } from '../support/receiver';
import { readSse, SseEvent } from '../support/sse';
import { eventually, expectEnvelope, TestSystem } from '../support/system';
import { sandboxTmpDir } from '../support/env';

const KEY = 'sk-ant-api03-flowse2ekey0123456789';
const withCli = withClaudeCode('flows e2e');

type Stage = {
  name: string;
  status: string;
  activationId: string | null;
  changeId: string | null;
  feedback: string | null;
  startedAt: string | null;
  documents: Array<{ id: string; kind: string; version: number }>;
  document: { id: string; kind: string; version: number } | null;
  build: { buildId: string; status: string | null } | null;
  costUsd: number;
};
type Flow = {
  flowId: string;
  status: string;
  gate: string | null;
  changeId: string | null;
  changeIds: string[];
  deployment: { deploymentId: string; environment: string; version: string; status: string } | null;
  costUsd: number;
  error: string | null;
  stages: Stage[];
};

/** Flows with the offline template provider: documents, a code stage on a real repository and build. */
describe('flows: a task taken through the agents in order, with gates', () => {
  jest.setTimeout(120_000);
  const tmp = sandboxTmpDir('cocode-flows-e2e-');
  const work = new GitRepo(join(tmp, 'work'));
  const originDir = join(tmp, 'origin.git');
  const originGit = bareGit(originDir, tmp);
  const receiver = new Receiver();
  const fake = new FakeAnthropic();
  let system: TestSystem;
  let devops: { id: string; token: string };
  let app: { id: string };
  let pipelineId: string;
  let admin: string;
  let pm: { id: string; token: string };
  let architect: { id: string; token: string };
  let developer: { id: string; token: string };
  let tester: { id: string; token: string };
  let viewer: { id: string; token: string };
  let project: { id: string };

  beforeAll(async () => {
    work.commit('base', { 'README.md': '# demo\n' });
    const url = work.publishBare(originDir);
    await receiver.start();
    await fake.start();
    system = await TestSystem.start({
      env: {
        ANTHROPIC_API_KEY: KEY,
        ANTHROPIC_BASE_URL: fake.url,
        WORKSPACES_ROOT: join(tmp, 'workspaces'),
        WEBHOOKS_ALLOW_PRIVATE: 'true',
        AGENTS_LEASE_MS: '2000',
        BUILDS_LEASE_SECONDS: '3',
      },
    });
    admin = await system.adminToken();
    [pm, architect, developer, tester, viewer, devops] = await system.users(
      'product_manager',
      'architect',
      'developer',
      'tester',
      'viewer',
      'devops',
    );
    project = await system.project({
      key: 'FLOW',
      ownerId: pm.id,
      members: [architect.id, developer.id, tester.id, viewer.id, devops.id],
      visibility: 'private',
    });
    const pipeline = await system.repository(admin, project.id, url, {
      // The template change writes the task's title into docs/: a title can make the build red or slow.
      stages: [
        {
          name: 'test',
          commands: [
            'test -f README.md',
            'if grep -rqs "make it red" docs; then echo "red on purpose"; exit 1; fi',
            'if grep -rqs "take a while" docs; then sleep 8; fi',
          ],
        },
      ],
    });
    pipelineId = pipeline.id;
    app = (
      await system
        .as(admin)
        .post('/v2/applications', {
          projectId: project.id,
          name: 'shop',
          target: { type: 'script', command: 'echo "deploying $DEPLOY_VERSION to $DEPLOY_ENV"' },
        })
        .expect(201)
    ).body as { id: string };
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
    await fake.stop();
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

  it('takes a task from PRD to a dev deployment: two gates approved, backend and frontend side by side, the test agent on the change, every change merged, one stream of events', async () => {
    const task = await newTask('checkout');
    const res = await as(pm.token)
      .post(`/v2/tasks/${task.id}/flows`, {
        stages: ['product', 'architecture', 'backend', 'test', 'frontend'],
        config: { provider: 'template' },
        deployTo: { environment: 'dev', applicationId: app.id },
      })
      .expect(202);
    expect(res.headers.location).toBe(`/v2/flows/${res.body.flowId}`);
    expect(res.body.flowId).toMatch(/^flow_[0-9a-z]{16}$/);
    expect(res.body.gates).toEqual(['product', 'merge']);
    // frontend moves up beside backend: the two run as one step.
    expect(res.body.stages.map((s: Stage) => s.name)).toEqual([
      'product',
      'architecture',
      'backend',
      'frontend',
      'test',
    ]);
    const id = res.body.flowId as string;
    const auth = { authorization: `Bearer ${viewer.token}` };
    const live = readSse(`${system.gateway.url}/v2/flows/${id}/events`, auth, 100_000);

    let f = await until(id, ['awaiting_approval']);
    expect(f.gate).toBe('product');
    expect(f.stages.map((s) => s.status)).toEqual(['completed', 'pending', 'pending', 'pending', 'pending']);
    expect(f.stages[0].document).toEqual(expect.objectContaining({ kind: 'prd', version: 1 }));
    // The next stage is architecture: a developer may not approve, an architect may.
    await as(developer.token).post(`/v2/flows/${id}/approve`, {}).expect(403);
    await as(architect.token).post(`/v2/flows/${id}/approve`, { comment: 'Keep it small.' }).expect(200);

    f = await until(id, ['awaiting_approval', 'failed']);
    expect(f.error).toBeNull();
    expect(f.gate).toBe('merge');
    expect(f.stages.map((s) => s.status)).toEqual([
      'completed',
      'completed',
      'completed',
      'completed',
      'completed',
    ]);
    expect(f.stages[1].feedback).toBe('Keep it small.');
    // The architecture agent read the PRD the product stage wrote (recorded with its version).
    expect(f.stages[1].documents).toEqual([
      expect.objectContaining({ id: f.stages[0].document!.id, kind: 'prd', version: 1 }),
    ]);
    const arch = (
      await as(admin).get(`/v2/agents/activations/${f.stages[1].activationId}/result`).expect(200)
    ).body;
    expect(arch.documents.map((d: { kind: string }) => d.kind)).toEqual(['prd']);
    // backend and frontend started together, each with its change and green build; the test
    // agent went on with the flow's latest change (frontend's), on its branch.
    const [, , backend, frontend, testStage] = f.stages;
    expect(backend.startedAt).toBe(frontend.startedAt);
    expect(backend.changeId).toMatch(/^chg_/);
    expect(frontend.changeId).toMatch(/^chg_/);
    expect(frontend.changeId).not.toBe(backend.changeId);
    expect(testStage.changeId).toBe(frontend.changeId);
    expect(f.changeIds).toEqual([backend.changeId, frontend.changeId]);
    expect(f.changeId).toBe(backend.changeId);
    for (const s of [backend, frontend, testStage]) expect(s.build?.status).toBe('success');
    expect(f.costUsd).toBe(0); // the template provider spends nothing
    expect(f.deployment).toBeNull();

    const taskAt = async () =>
      (await as(admin).get(`/v2/tasks/${task.id}`).expect(200)).body.status as string;
    expect(await taskAt()).toBe('review');
    await as(tester.token).post(`/v2/flows/${id}/approve`, {}).expect(403);
    await as(developer.token).post(`/v2/flows/${id}/approve`, {}).expect(200);
    f = await until(id, ['completed', 'failed']);
    expect(f.error).toBeNull();
    expect(f.status).toBe('completed');
    const merged = await Promise.all(
      f.changeIds.map(async (c) => (await as(admin).get(`/v2/changes/${c}`).expect(200)).body),
    );
    expect(merged.map((c) => c.status)).toEqual(['merged', 'merged']);
    expect(await taskAt()).toBe('done');
    const history = (await as(admin).get(`/v2/tasks/${task.id}/history`).expect(200)).body;
    expect(JSON.stringify(history)).toContain(`flow ${id}`);
    const tree = originGit('ls-tree', '--name-only', '-r', 'main');
    for (const kind of ['backend', 'frontend', 'test'])
      expect(tree).toContain(`docs/cocode/${task.key}-${kind}.md`);

    // The merged commit (the last merge) is deployed to dev through the deployments module.
    const head = originGit('rev-parse', 'main').trim();
    expect(merged[1].mergeSha).toBe(head);
    expect(f.deployment).toEqual(
      expect.objectContaining({ environment: 'dev', version: head.slice(0, 12), status: 'succeeded' }),
    );
    const deployment = (await as(admin).get(`/v2/deployments/${f.deployment!.deploymentId}`).expect(200))
      .body;
    expect(deployment).toEqual(
      expect.objectContaining({ status: 'succeeded', version: head.slice(0, 12), requestedBy: pm.id }),
    );

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
    expect(listed.data[0].stages[0].document.kind).toBe('prd');

    // The stream followed the whole flow and ended with it: the flow's own events and its
    // stages' activations' events, one order.
    const stream = await live;
    expect(stream.status).toBe(200);
    expect(stream.ended).toBe(true);
    const ids = stream.events.map((e) => e.id!);
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    expect(new Set(ids).size).toBe(ids.length);
    const own = (e: SseEvent) =>
      ['stage', 'gate', 'merge', 'deployment'].includes(e.event) || e.event.startsWith('flow.');
    const story = stream.events
      .filter(own)
      .map((e) => [e.event, e.data.stage ?? e.data.gate ?? e.data.changeId ?? '', e.data.status].join(' '));
    expect(story[0]).toBe('flow.running  running');
    expect(story).toEqual(
      expect.arrayContaining([
        'stage product running',
        'stage product completed',
        'gate product awaiting',
        'gate product approved',
        'stage backend running',
        'stage frontend running',
        'gate merge awaiting',
        `merge ${backend.changeId} merged`,
        `merge ${frontend.changeId} merged`,
        'deployment  succeeded',
      ]),
    );
    expect(story[story.length - 1]).toBe('flow.completed  completed');
    expect(story.indexOf('stage backend running')).toBeLessThan(story.indexOf('stage backend completed'));
    const stageEvents = stream.events.filter((e) => !own(e));
    expect(new Set(stageEvents.map((e) => e.data.stage))).toEqual(
      new Set(['product', 'architecture', 'backend', 'frontend', 'test']),
    );
    expect(stageEvents.filter((e) => e.event === 'completed')).toHaveLength(5);
    // Resumed with Last-Event-ID: what came after, and the end.
    const from = ids[Math.floor(ids.length / 2)];
    const resumed = await readSse(`${system.gateway.url}/v2/flows/${id}/events`, {
      ...auth,
      'last-event-id': String(from),
    });
    expect(resumed.ended).toBe(true);
    expect(resumed.events.map((e) => e.id)).toEqual(ids.filter((x) => x > from));
    await as(admin)
      .get('/v2/flows/flow_missing0000000/events')
      .set('accept', 'text/event-stream')
      .expect(404);
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

  it("an approval's comment reaches the next stage's prompt (the model sees it, with the task and the PRD); a stage run again writes the document's next version", async () => {
    const task = await newTask('loyalty points');
    await as(pm.token)
      .put(`/v2/tasks/${task.id}`, { description: 'Customers earn points on every order.' })
      .expect(200);
    const id = (
      await as(pm.token)
        .post(`/v2/tasks/${task.id}/flows`, {
          stages: ['product', 'architecture'],
          gates: ['product'],
          config: { provider: 'anthropic' },
        })
        .expect(202)
    ).body.flowId as string;
    let f = await until(id, ['awaiting_approval', 'failed']);
    expect(f.status).toBe('awaiting_approval');
    expect(f.stages[0].document).toEqual(expect.objectContaining({ kind: 'prd', version: 1 }));
    expect(f.stages[0].costUsd).toBeGreaterThan(0);
    // Run the product stage again: the PRD's version 2; the first stays readable.
    await as(pm.token).post(`/v2/flows/${id}/retry-stage`, { comment: 'Add refunds.' }).expect(200);
    f = await until(id, ['awaiting_approval', 'failed']);
    expect(f.stages[0].document).toEqual(expect.objectContaining({ kind: 'prd', version: 2 }));
    const docs = (await as(viewer.token).get(`/v2/projects/${project.id}/documents?kind=prd`).expect(200))
      .body.data as Array<{ taskId: string; version: number }>;
    expect(
      docs
        .filter((d) => d.taskId === task.id)
        .map((d) => d.version)
        .sort(),
    ).toEqual([1, 2]);

    const before = fake.requests.length;
    await as(architect.token)
      .post(`/v2/flows/${id}/approve`, { comment: 'Points expire after one year.' })
      .expect(200);
    f = await until(id, ['completed', 'failed']);
    expect(f.status).toBe('completed');
    expect(f.stages[1].documents).toEqual([
      expect.objectContaining({ id: f.stages[0].document!.id, kind: 'prd', version: 2 }),
    ]);
    expect(f.costUsd).toBeGreaterThan(f.stages[1].costUsd);
    const prompts = fake.requests.slice(before).map((r) => JSON.stringify(r.body));
    expect(prompts.length).toBeGreaterThan(0);
    // Every call of the architecture stage carries the comment, the task and the PRD it read.
    for (const prompt of prompts) {
      expect(prompt).toContain('Points expire after one year.');
      expect(prompt).toContain('loyalty points');
      expect(prompt).toContain('Customers earn points on every order.');
    }
    expect(prompts.some((p) => p.includes('Add refunds.'))).toBe(false);
  });

  withCli(
    "a claude-code stage: the approval's comment reaches Claude Code's prompt; its change is built and merged",
    async () => {
      const task = await newTask('discount codes');
      fake.turns.push(
        turns.write('discount.js', 'module.exports = (price) => Math.round(price * 90) / 100;\n'),
        turns.end('Added discount.js.'),
      );
      const id = (
        await as(architect.token)
          .post(`/v2/tasks/${task.id}/flows`, {
            stages: ['architecture', 'backend'],
            gates: ['architecture', 'merge'],
            config: { provider: 'claude-code' }, // the code stages' provider; architecture keeps its own
          })
          .expect(202)
      ).body.flowId as string;
      await until(id, ['awaiting_approval', 'failed']);
      const before = fake.streamed.length;
      await as(developer.token).post(`/v2/flows/${id}/approve`, { comment: 'Round to cents.' }).expect(200);
      const f = await until(id, ['awaiting_approval', 'failed']);
      expect(f.error).toBeNull();
      expect(f.gate).toBe('merge');
      const prompts = fake.streamed.slice(before).map((r) => JSON.stringify(r.body));
      expect(prompts.length).toBeGreaterThan(0);
      // The session's prompt (the CLI may make calls of its own beside it).
      const session = prompts.find((p) => p.includes('discount codes'));
      expect(session).toContain('feedback: Round to cents.');
      expect(f.stages[1].build?.status).toBe('success');
      const diff = (await as(admin).get(`/v2/changes/${f.changeId}/diff`).expect(200)).text;
      expect(diff).toContain('+++ b/discount.js');
      await as(developer.token).post(`/v2/flows/${id}/approve`, {}).expect(200);
      expect((await until(id, ['completed', 'failed'])).status).toBe('completed');
    },
  );

  it('a red build stops the flow with the reason; the change stays open for a person', async () => {
    const task = await newTask('make it red');
    const id = (
      await as(developer.token)
        .post(`/v2/tasks/${task.id}/flows`, {
          stages: ['backend', 'test'],
          config: { provider: 'template', repairRounds: 0 },
        })
        .expect(202)
    ).body.flowId as string;
    const f = await until(id, ['failed', 'completed', 'awaiting_approval']);
    expect(f.status).toBe('failed');
    expect(f.error).toMatch(/^The backend stage ended failed/);
    expect(f.stages.map((s) => s.status)).toEqual(['failed', 'pending']);
    expect(f.stages[0].build?.status).toBe('failed');
    expect(f.changeId).toMatch(/^chg_/);
    const change = (await as(admin).get(`/v2/changes/${f.changeId}`).expect(200)).body;
    expect(change).toEqual(expect.objectContaining({ status: 'open', buildStatus: 'failed' }));
    expect((await as(admin).get(`/v2/tasks/${task.id}`).expect(200)).body.status).toBe('in_progress');
    const failed = await eventually(async () =>
      receiver
        .at('/flows')
        .map((r) => JSON.parse(r.body) as { type: string; data: { flowId: string; error?: string } })
        .find((e) => e.type === 'flow.failed' && e.data.flowId === id),
    );
    expect(failed.data.error).toBe(f.error);

    // Run the failed stage again (still red): it goes on with its change, and fails again. The
    // flow's stream tells both ends and ends at the last.
    await as(tester.token).post(`/v2/flows/${id}/retry-stage`, { comment: 'again' }).expect(403);
    await as(developer.token).post(`/v2/flows/${id}/retry-stage`, { comment: 'again' }).expect(200);
    const again = await until(id, ['failed', 'completed', 'awaiting_approval']);
    expect(again.status).toBe('failed');
    expect(again.stages[0].activationId).not.toBe(f.stages[0].activationId);
    expect(again.changeIds).toEqual([f.changeId]);
    const stream = await readSse(`${system.gateway.url}/v2/flows/${id}/events`, {
      authorization: `Bearer ${viewer.token}`,
    });
    expect(stream.ended).toBe(true);
    const own = stream.events
      .filter((e) => e.event.startsWith('flow.') || (e.event === 'stage' && e.data.status === 'retried'))
      .map((e) => e.event);
    expect(own).toEqual(['flow.running', 'flow.failed', 'flow.running', 'stage', 'flow.failed']);
  });

  it('cancel mid-build stops the activation and its build', async () => {
    const task = await newTask('take a while to cancel');
    const id = (
      await as(developer.token)
        .post(`/v2/tasks/${task.id}/flows`, { stages: ['backend'], config: { provider: 'template' } })
        .expect(202)
    ).body.flowId as string;
    const build = await runningBuild(`cocode/${task.key}-backend-1`);
    const cancelled = (await as(developer.token).post(`/v2/flows/${id}/cancel`, {}).expect(200)).body as Flow;
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.stages[0].status).toBe('cancelled');
    await eventually(async () => {
      const b = (await as(admin).get(`/v2/builds/${build}`).expect(200)).body;
      return b.status === 'cancelled' ? b : null;
    }, 20_000);
    const a = await eventually(async () => {
      const p = (
        await as(admin).get(`/v2/agents/activations/${cancelled.stages[0].activationId}/progress`).expect(200)
      ).body;
      return p.status === 'cancelled' ? p : null;
    }, 20_000);
    expect(a.status).toBe('cancelled');
    expect((await flow(id)).status).toBe('cancelled');
  });

  it('deployTo is checked when the flow starts', async () => {
    const task = await newTask('deploy checks');
    const start = (token: string, body: Record<string, unknown>) =>
      as(token).post(`/v2/tasks/${task.id}/flows`, { config: { provider: 'template' }, ...body });
    // No code stage: nothing would be merged to deploy.
    expectEnvelope(
      (
        await start(pm.token, {
          stages: ['product'],
          deployTo: { environment: 'dev', applicationId: app.id },
        }).expect(422)
      ).body,
      'VALIDATION_ERROR',
    );
    // Prod needs its approvers, never the flow's creator.
    await start(devops.token, {
      stages: ['devops'],
      deployTo: { environment: 'prod', applicationId: app.id },
    }).expect(422);
    await start(devops.token, {
      stages: ['devops'],
      deployTo: { environment: 'prod', applicationId: app.id, approvals: [devops.id] },
    }).expect(422);
    await start(pm.token, {
      stages: ['product', 'backend'],
      deployTo: { environment: 'qa', applicationId: app.id },
    }).expect(422);
    await start(pm.token, {
      stages: ['product', 'backend'],
      deployTo: { environment: 'dev', applicationId: 'app_missing000000000' },
    }).expect(404);
    // Without the merge gate nobody reviews what is deployed: only one who may deploy may ask.
    await start(pm.token, {
      stages: ['product', 'backend'],
      gates: [],
      deployTo: { environment: 'dev', applicationId: app.id },
    }).expect(403);
    // Prod keeps its approvals: the flow waits for the deployment's approver, then ends with it.
    const prod = (
      await start(devops.token, {
        stages: ['devops'],
        gates: [],
        deployTo: { environment: 'prod', applicationId: app.id, approvals: [architect.id] },
      }).expect(202)
    ).body as Flow;
    const waiting = await eventually(async () => {
      const f = await flow(prod.flowId);
      return f.deployment?.status === 'pending_approval' || f.status !== 'running' ? f : null;
    }, 60_000);
    expect(waiting.status).toBe('running');
    expect(waiting.deployment).toEqual(
      expect.objectContaining({ environment: 'prod', status: 'pending_approval' }),
    );
    await as(architect.token)
      .post(`/v2/deployments/${waiting.deployment!.deploymentId}/approve`, { comment: 'ok' })
      .expect(200);
    const done = await until(prod.flowId, ['completed', 'failed']);
    expect(done.status).toBe('completed');
    expect(done.deployment!.status).toBe('succeeded');
    await as(devops.token).post(`/v2/flows/${prod.flowId}/cancel`, {}).expect(409);
  });

  it('a worker SIGKILLed mid-stage: the stage resumes where it was (same activation), the flow goes on', async () => {
    const task = await newTask('take a while to resume');
    const id = (
      await as(developer.token)
        .post(`/v2/tasks/${task.id}/flows`, { stages: ['backend'], config: { provider: 'template' } })
        .expect(202)
    ).body.flowId as string;
    await runningBuild(`cocode/${task.key}-backend-1`);
    const before = await flow(id);
    await system.worker.kill('SIGKILL');
    await system.worker.start();
    const f = await until(id, ['awaiting_approval', 'failed', 'completed']);
    expect(f.error).toBeNull();
    expect(f.gate).toBe('merge');
    expect(f.stages[0].activationId).toBe(before.stages[0].activationId);
    expect(f.stages[0].status).toBe('completed');
    expect(f.stages[0].build?.status).toBe('success');
    const p = (await as(admin).get(`/v2/agents/activations/${f.stages[0].activationId}/progress`).expect(200))
      .body;
    expect(p.logs.some((l: { message: string }) => /从中断处继续/.test(l.message))).toBe(true);
    // The build that died with the worker says nothing of the change: it was built again.
    expect(p.logs.some((l: { message: string }) => /重新构建/.test(l.message))).toBe(true);
    // One branch, one change: the stage was not started over.
    const changes = (await as(admin).get(`/v2/projects/${project.id}/changes`).expect(200)).body
      .data as Array<{
      branch: string;
    }>;
    expect(changes.filter((c) => c.branch.startsWith(`cocode/${task.key}-`)).map((c) => c.branch)).toEqual([
      `cocode/${task.key}-backend-1`,
    ]);
    await as(developer.token).post(`/v2/flows/${id}/reject`, { comment: 'not this one' }).expect(200);
  });

  /** The running build of the branch, once it runs. */
  async function runningBuild(branch: string): Promise<string> {
    return eventually(async () => {
      const page = (
        await as(admin)
          .get(`/v2/pipelines/${pipelineId}/builds?branch=${encodeURIComponent(branch)}&status=running`)
          .expect(200)
      ).body as { data: Array<{ buildId: string }> };
      return page.data[0]?.buildId ?? null;
    }, 60_000);
  }

  it('a gate before backend and frontend side by side is approved by one who may run both', async () => {
    const task = await newTask('gate before the pair');
    const id = (
      await as(architect.token)
        .post(`/v2/tasks/${task.id}/flows`, {
          stages: ['architecture', 'frontend', 'backend'],
          gates: ['architecture'],
          config: { provider: 'template' },
        })
        .expect(202)
    ).body.flowId as string;
    const f = await until(id, ['awaiting_approval', 'failed']);
    expect(f.gate).toBe('architecture');
    expect(f.stages.map((s) => s.name)).toEqual(['architecture', 'frontend', 'backend']);
    await as(architect.token).post(`/v2/flows/${id}/approve`, {}).expect(403);
    await as(developer.token).post(`/v2/flows/${id}/approve`, {}).expect(200);
    const done = await until(id, ['completed', 'failed']);
    expect(done.status).toBe('completed');
    expect(done.stages[1].startedAt).toBe(done.stages[2].startedAt);
  });

  it('two workers drive many flows at once, each stage once', async () => {
    const second = await system.startWorker();
    try {
      const ids = await Promise.all(
        [1, 2, 3, 4].map(async (n) => {
          const task = await newTask(`parallel ${n}`);
          return (
            await as(pm.token)
              .post(`/v2/tasks/${task.id}/flows`, {
                stages: ['product', 'architecture', 'api', 'backend', 'frontend'],
                gates: [],
                config: { provider: 'template' },
              })
              .expect(202)
          ).body.flowId as string;
        }),
      );
      const ended = await Promise.all(ids.map((id) => until(id, ['completed', 'failed'])));
      expect(ended.map((f) => [f.status, f.error])).toEqual(ids.map(() => ['completed', null]));
      const made = await system.sql<{ flow_id: string; n: number }>(
        `SELECT flow_id, count(*)::int AS n FROM agent_activations WHERE flow_id = ANY($1) GROUP BY flow_id`,
        [ids],
      );
      expect(made.map((r) => r.n)).toEqual([5, 5, 5, 5]);
      for (const f of ended) expect(f.changeIds).toHaveLength(2);
    } finally {
      await second.kill('SIGTERM');
    }
  });

  it("the README's walk-through runs as written: six stages, two gates, merged and deployed to dev", async () => {
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    const block = /<!-- walkthrough:start -->\s*```bash\n([\s\S]*?)```\s*<!-- walkthrough:end -->/.exec(
      readme,
    );
    expect(block).not.toBeNull();
    const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        'bash',
        ['-c', block![1]],
        {
          timeout: 150_000,
          env: {
            ...process.env,
            API: `${system.gateway.url}/v2`,
            TOKEN: admin,
            WORK: join(tmp, 'walkthrough'),
          },
        },
        (err, stdout, stderr) => resolve({ code: err ? ((err.code as number) ?? 1) : 0, stdout, stderr }),
      );
    });
    const said = `${out.stdout}\n${out.stderr}`;
    expect({ code: out.code, said }).toEqual({ code: 0, said: expect.stringContaining('flow.completed') });
    expect(said).toMatch(/"kind":"prd","version":1/);
    const deployed = said.split('\n').find((l) => l.startsWith('{') && l.includes('"deploymentId"'));
    expect(JSON.parse(deployed!)).toEqual(
      expect.objectContaining({ environment: 'dev', status: 'succeeded' }),
    );
    expect(said).toMatch(/^gate .*"gate":"merge".*"status":"approved"/m);
    // The three code stages' commits, now on main.
    expect(said.match(/^[0-9a-f]{7,} SHOP-1: Checkout with saved cards$/gm)).toHaveLength(3);
    const flows = (await as(admin).get('/v2/flows?status=completed&pageSize=100').expect(200)).body
      .data as Flow[];
    const walked = flows.find((f) => f.stages.length === 6);
    expect(walked?.stages.map((s) => s.name)).toEqual([
      'product',
      'architecture',
      'api',
      'backend',
      'test',
      'devops',
    ]);
    expect(walked?.stages.every((s) => s.status === 'completed')).toBe(true);
    // backend, test and devops one after the other: one change, built three times, merged once.
    expect(walked?.changeIds).toHaveLength(1);
    expect(new Set(walked?.stages.slice(3).map((s) => s.changeId))).toEqual(new Set(walked?.changeIds));
  }, 180_000);
});
