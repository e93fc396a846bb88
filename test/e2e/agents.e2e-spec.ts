import { FakeAnthropic } from '../support/fake-anthropic';
import { readSse } from '../support/sse';
import { eventually, expectEnvelope, TestSystem } from '../support/system';

type Session = { id: string; token: string };

const SEED_INPUT = {
  requirement: '实现用户中心模块,支持手机号登录、邮箱登录、第三方登录',
  context: '电商后台管理系统 v1.0',
};
const SEED_CONFIG = { model: 'claude-sonnet-4', temperature: 0.7, outputFormat: 'markdown' };
const PRODUCT_STEPS = ['需求解析', '用户故事生成', '功能拆解', '优先级排序', '生成验收标准', '文档格式化'];
const ALLOWED: Record<string, string[]> = {
  product: ['product_manager'],
  architecture: ['architect'],
  api: ['architect'],
  backend: ['developer'],
  frontend: ['developer'],
  test: ['tester'],
  qa: ['tester'],
  devops: ['devops'],
};

/** A project whose members hold every role, and one task in it. */
async function workspace(system: TestSystem) {
  const roles = ['product_manager', 'architect', 'developer', 'tester', 'devops', 'viewer'];
  const sessions: Record<string, Session> = {};
  for (const role of roles) sessions[role] = await system.userWithRole(role);
  const admin = await system.adminToken();
  const project = (
    await system.http
      .post('/v2/projects')
      .auth(admin, { type: 'bearer' })
      .send({
        name: '电商后台管理系统',
        key: 'ECOM',
        ownerId: sessions.product_manager.id,
        members: roles.map((r) => sessions[r].id),
      })
      .expect(201)
  ).body;
  const task = (
    await system.http
      .post(`/v2/projects/${project.id}/tasks`)
      .auth(sessions.product_manager.token, { type: 'bearer' })
      .send({ type: 'story', title: '用户中心' })
      .expect(201)
  ).body;
  return { sessions, admin, project, task };
}

describe('agents with the offline template provider', () => {
  let system: TestSystem;
  let ws: Awaited<ReturnType<typeof workspace>>;

  beforeAll(async () => {
    system = await TestSystem.start();
    ws = await workspace(system);
  });
  afterAll(() => system?.stop());

  const activate = (token: string, type: string, body: object) =>
    system.http.post(`/v2/agents/${type}/activate`).auth(token, { type: 'bearer' }).send(body);
  const get = (token: string, url: string) => system.http.get(url).auth(token, { type: 'bearer' });

  it('lists the eight agents with their steps and who may activate them', async () => {
    const res = await get(ws.sessions.viewer.token, '/v2/agents').expect(200);
    expect(res.body.data.map((a: { type: string }) => a.type)).toEqual([
      'product',
      'architecture',
      'api',
      'backend',
      'frontend',
      'test',
      'devops',
      'qa',
    ]);
    const product = res.body.data[0];
    expect(product.steps.map((s: { name: string }) => s.name)).toEqual(PRODUCT_STEPS);
    expect(product.activatedBy).toEqual(['admin', 'product_manager']);
    expect(product.canActivate).toBe(false);
    for (const a of res.body.data) expect(a.steps.length).toBeGreaterThanOrEqual(4);
  });

  it('runs the seed example: 202, progress through the six steps, the result, a PRD in the project', async () => {
    const res = await activate(ws.sessions.product_manager.token, 'product', {
      taskId: ws.task.id,
      input: SEED_INPUT,
      config: SEED_CONFIG,
      notifyOnComplete: true,
    }).expect(202);
    expect(res.body).toEqual({
      activationId: expect.stringMatching(/^act_/),
      agentType: 'product',
      taskId: ws.task.id,
      status: 'queued',
      estimatedCompletionTime: expect.stringMatching(/Z$/),
      progressUrl: `/agents/activations/${res.body.activationId}/progress`,
    });
    expect(res.headers.location).toBe(`/v2${res.body.progressUrl}`);
    const id = res.body.activationId;
    const progress = await eventually(async () => {
      const p = (await get(ws.sessions.viewer.token, `/v2/agents/activations/${id}/progress`)).body;
      return p.status === 'completed' ? p : null;
    });
    expect(progress).toEqual(
      expect.objectContaining({ activationId: id, agentType: 'product', progress: 100, currentStep: null }),
    );
    expect(progress.steps).toEqual(
      PRODUCT_STEPS.map((name) => ({ name, status: 'completed', progress: 100 })),
    );
    expect(progress.intermediateResults).toEqual(
      expect.objectContaining({ userStories: expect.any(Array), featureList: expect.any(Array) }),
    );
    expect(progress.logs[0]).toEqual(
      expect.objectContaining({ timestamp: expect.any(String), level: 'info', message: expect.any(String) }),
    );

    const result = await get(ws.sessions.viewer.token, `/v2/agents/activations/${id}/result`).expect(200);
    expect(Object.keys(result.body)).toEqual([
      'activationId',
      'status',
      'output',
      'metrics',
      'completedAt',
      'documents',
    ]);
    expect(result.body.output).toEqual(
      expect.objectContaining({
        prdDocument: expect.stringMatching(/^# 用户中心模块 PRD\n\n## 1\. 产品概述/),
        userStories: expect.arrayContaining([expect.objectContaining({ title: '手机号登录' })]),
        acceptanceCriteria: expect.any(Array),
        attachments: [
          expect.objectContaining({ name: 'prd.md' }),
          expect.objectContaining({ name: 'user-stories.csv' }),
        ],
      }),
    );
    expect(Object.keys(result.body.output)[0]).toBe('prdDocument');
    expect(result.body.metrics).toEqual({
      executionTime: expect.any(Number),
      tokensUsed: 0,
      model: 'template',
      inputTokens: 0,
      outputTokens: 0,
      cacheReadTokens: 0,
      costUsd: 0,
      numTurns: 0,
    });
    const csvUrl = new URL(result.body.output.attachments[1].url);
    const csv = await get(ws.sessions.viewer.token, csvUrl.pathname).expect(200);
    expect(csv.headers['content-type']).toContain('text/csv');
    expect(csv.text.split('\n')[0]).toBe('id,title,asA,iWant,soThat');

    const project = (await get(ws.sessions.viewer.token, `/v2/projects/${ws.project.id}`).expect(200)).body;
    expect(project.stats.totalPRDs).toBe(1);
    const docs = (await get(ws.sessions.viewer.token, `/v2/projects/${ws.project.id}/documents`).expect(200))
      .body;
    expect(docs.data).toEqual([
      expect.objectContaining({ kind: 'prd', activationId: id, title: '用户中心模块 PRD' }),
    ]);
    const doc = (
      await get(
        ws.sessions.viewer.token,
        `/v2/projects/${ws.project.id}/documents/${docs.data[0].id}`,
      ).expect(200)
    ).body;
    expect(doc.content).toBe(result.body.output.prdDocument);
    const [event] = await system.sql<{ payload: { data: Record<string, unknown> } }>(
      `SELECT payload FROM outbox_messages WHERE payload->>'type' = 'agent.completed'`,
    );
    expect(event.payload.data).toEqual(
      expect.objectContaining({
        activationId: id,
        agentType: 'product',
        status: 'completed',
        documentId: docs.data[0].id,
      }),
    );
  });

  it.each(Object.entries(ALLOWED))(
    'lets only %s activators (and admins) activate that agent',
    async (type, roles) => {
      for (const role of ['product_manager', 'architect', 'developer', 'tester', 'devops', 'viewer']) {
        const res = await activate(ws.sessions[role].token, type, {
          taskId: ws.task.key,
          input: { requirement: '订单导出' },
          config: { model: 'template' },
        });
        expect([role, res.status]).toEqual([role, roles.includes(role) ? 202 : 403]);
      }
      await activate(ws.admin, type, { taskId: ws.task.id, input: { requirement: '订单导出' } }).expect(202);
    },
  );

  it('completes every agent type with its own output document', async () => {
    const outputs: Record<string, string> = {
      architecture: 'architectureDocument',
      api: 'apiSpec',
      backend: 'codePlan',
      frontend: 'codePlan',
      test: 'testPlan',
      devops: 'pipelineConfig',
      qa: 'qaReport',
    };
    for (const [type, key] of Object.entries(outputs)) {
      const { activationId } = (
        await activate(ws.admin, type, {
          taskId: ws.task.id,
          input: { requirement: '支持订单导出和发票下载' },
        }).expect(202)
      ).body;
      const result = await eventually(async () => {
        const r = await get(ws.admin, `/v2/agents/activations/${activationId}/result`);
        return r.status === 200 ? r.body : null;
      });
      expect(result.status).toBe('completed');
      expect(result.output[key]).toEqual(expect.stringContaining('#'));
    }
  });

  it('refuses bad activations: unknown agent 404, invisible or unknown task 404, bad config 422', async () => {
    const token = ws.sessions.product_manager.token;
    expectEnvelope(
      (await activate(token, 'poet', { taskId: ws.task.id, input: {} }).expect(404)).body,
      'NOT_FOUND',
    );
    await activate(token, 'product', { taskId: 'task_doesnotexist000', input: {} }).expect(404);
    const fields = (r: { body: { error: { details: { fields: Array<{ field: string }> } } } }) =>
      r.body.error.details.fields.map((f) => f.field);
    expect(
      fields(
        await activate(token, 'product', {
          taskId: ws.task.id,
          input: {},
          config: { temperature: 2 },
        }).expect(422),
      ),
    ).toEqual(['config.temperature']);
    expect(fields(await activate(token, 'product', { taskId: ws.task.id }).expect(422))).toEqual(['input']);
    expect(
      fields(
        await activate(token, 'product', {
          taskId: ws.task.id,
          input: {},
          config: { outputFormat: 'pdf' },
        }).expect(422),
      ),
    ).toEqual(['config.outputFormat']);
    const outsider = await system.userWithRole('product_manager');
    await activate(outsider.token, 'product', { taskId: ws.task.id, input: {} }).expect(404); // private project
  });

  it('lists activations with filters and hides them from non-members', async () => {
    const list = (
      await get(
        ws.sessions.viewer.token,
        `/v2/agents/activations?taskId=${ws.task.id}&agentType=product&pageSize=100`,
      ).expect(200)
    ).body;
    expect(list.data.length).toBeGreaterThanOrEqual(2);
    expect(
      list.data.every(
        (a: { agentType: string; taskId: string }) => a.agentType === 'product' && a.taskId === ws.task.id,
      ),
    ).toBe(true);
    await get(ws.sessions.viewer.token, '/v2/agents/activations?status=sleeping').expect(422);
    const outsider = await system.userWithRole('viewer');
    expect((await get(outsider.token, '/v2/agents/activations').expect(200)).body.data).toEqual([]);
    await get(outsider.token, `/v2/agents/activations/${list.data[0].activationId}/progress`).expect(404);
  });

  it('replays events over SSE, and from Last-Event-ID only what followed', async () => {
    const { activationId } = (
      await activate(ws.admin, 'qa', { taskId: ws.task.id, input: { requirement: '上线检查' } }).expect(202)
    ).body;
    await eventually(
      async () => (await get(ws.admin, `/v2/agents/activations/${activationId}/result`)).status === 200,
    );
    const url = `${system.gateway.url}/v2/agents/activations/${activationId}/events`;
    const auth = { authorization: `Bearer ${ws.admin}` };
    const all = await readSse(url, auth);
    expect(all.status).toBe(200);
    expect(all.ended).toBe(true);
    const ids = all.events.map((e) => e.id!);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(all.events.at(-1)).toEqual(expect.objectContaining({ event: 'completed' }));
    expect(all.events.filter((e) => e.event === 'step' && e.data.status === 'completed')).toHaveLength(5);
    const later = await readSse(url, { ...auth, 'last-event-id': String(all.events[4].id) });
    expect(later.events.map((e) => e.id)).toEqual(all.events.slice(5).map((e) => e.id));
  });
});

describe('agents with the anthropic provider against a fake Messages API', () => {
  const fake = new FakeAnthropic();
  let system: TestSystem;
  let ws: Awaited<ReturnType<typeof workspace>>;

  beforeAll(async () => {
    await fake.start();
    system = await TestSystem.start({
      env: {
        AGENTS_PROVIDER: 'anthropic',
        ANTHROPIC_API_KEY: 'sk-ant-test-key',
        ANTHROPIC_BASE_URL: fake.url,
        AGENTS_MAX_RETRIES: '2',
        AGENTS_LEASE_MS: '1500',
        AGENTS_TIMEOUT_MS: '5000',
      },
    });
    ws = await workspace(system);
  });
  afterAll(async () => {
    await system?.stop();
    await fake.stop();
  });
  beforeEach(() => {
    fake.delayMs = 0;
    fake.always = null;
    fake.script.length = 0;
  });

  const activate = (body: object = {}) =>
    system.http
      .post('/v2/agents/product/activate')
      .auth(ws.sessions.product_manager.token, { type: 'bearer' })
      .send({ taskId: ws.task.id, input: SEED_INPUT, config: SEED_CONFIG, ...body })
      .expect(202)
      .then((r) => r.body.activationId as string);
  const progressOf = async (id: string) =>
    (await system.http.get(`/v2/agents/activations/${id}/progress`).auth(ws.admin, { type: 'bearer' })).body;
  const requestsFor = (id: string) =>
    fake.requests.filter((r) => r.body.messages[0].content.includes(id) || true);
  const until = (id: string, status: string, timeoutMs = 15000) =>
    eventually(async () => {
      const p = await progressOf(id);
      return p.status === status ? p : null;
    }, timeoutMs);

  it('calls the Messages API per step with the key, the aliased model and the temperature, and reports usage and model', async () => {
    const before = fake.requests.length;
    const id = await activate();
    await until(id, 'completed');
    const calls = fake.requests.slice(before);
    expect(calls.map(FakeAnthropic.stepOf)).toEqual(PRODUCT_STEPS);
    for (const c of calls) {
      // The SDK sends the key as x-api-key or (newer versions) as a bearer token.
      expect([c.headers['x-api-key'], c.headers.authorization]).toContainEqual(
        expect.stringMatching(/^(Bearer )?sk-ant-test-key$/),
      );
      expect(c.headers['anthropic-version']).toBeDefined();
      expect(c.body).toEqual(
        expect.objectContaining({ model: 'claude-sonnet-4-20250514', temperature: 0.7, max_tokens: 4096 }),
      );
      expect(c.body.system).toContain('JSON');
      expect(c.body.messages[0].content).toContain('实现用户中心模块');
    }
    expect(calls[1].body.messages[0].content).toContain('Results of the earlier steps');
    const result = (
      await system.http
        .get(`/v2/agents/activations/${id}/result`)
        .auth(ws.admin, { type: 'bearer' })
        .expect(200)
    ).body;
    expect(result.metrics).toEqual({
      executionTime: expect.any(Number),
      tokensUsed: 6 * 150,
      model: 'claude-sonnet-4-20250514',
      inputTokens: 6 * 100,
      outputTokens: 6 * 50,
      cacheReadTokens: 0,
      // Sonnet 4 at the default list price: 600 * $3 + 300 * $15 per million tokens.
      costUsd: 0.0063,
      numTurns: 0,
    });
    expect(result.output.prdDocument).toContain('Fake model document');
  });

  it("reports the project's spend by day, agent type and model, to members only", async () => {
    // From now: the earlier tests' activations (same project, same day) fall before it.
    await new Promise((r) => setTimeout(r, 20));
    const from = new Date().toISOString();
    fake.usage = {
      input_tokens: 1000,
      output_tokens: 200,
      cache_read_input_tokens: 500,
    } as typeof fake.usage;
    try {
      await until(await activate(), 'completed');
    } finally {
      fake.usage = { input_tokens: 100, output_tokens: 50 };
    }
    const usage = await system.http
      .get(`/v2/projects/${ws.project.id}/usage`)
      .query({ from })
      .auth(ws.sessions.viewer.token, { type: 'bearer' })
      .expect(200);
    // Six steps of 1000 in, 200 out, 500 cache reads: 6 * (1000*3 + 200*15 + 500*0.3) / 1e6.
    const line = {
      day: new Date().toISOString().slice(0, 10),
      agentType: 'product',
      model: 'claude-sonnet-4-20250514',
      activations: 1,
      inputTokens: 6000,
      outputTokens: 1200,
      cacheReadTokens: 3000,
      tokensUsed: 7200,
      costUsd: 0.0369,
    };
    const totalsOf = ({ day: _day, agentType: _type, model: _model, ...numbers }: typeof line) => numbers;
    expect(usage.body).toEqual({
      projectId: ws.project.id,
      from,
      to: expect.any(String),
      // One line: the totals are that line's numbers.
      totals: totalsOf(line),
      lines: [line],
    });
    // The month so far holds this one and the earlier ones.
    const month = await system.http
      .get(`/v2/projects/${ws.project.id}/usage`)
      .auth(ws.admin, { type: 'bearer' })
      .expect(200);
    expect(month.body.totals.activations).toBeGreaterThan(1);
    expect(month.body.totals.costUsd).toBeGreaterThan(0.0369);
    // Outsiders do not see the project; a backwards range and a non-date are refused.
    const outsider = await system.userWithRole('developer');
    await system.http
      .get(`/v2/projects/${ws.project.id}/usage`)
      .auth(outsider.token, { type: 'bearer' })
      .expect(404);
    const backwards = await system.http
      .get(`/v2/projects/${ws.project.id}/usage`)
      .query({ from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z' })
      .auth(ws.admin, { type: 'bearer' })
      .expect(422);
    expect(backwards.body.error.details.fields[0]).toEqual(expect.objectContaining({ field: 'to' }));
    await system.http
      .get(`/v2/projects/${ws.project.id}/usage`)
      .query({ from: 'yesterday' })
      .auth(ws.admin, { type: 'bearer' })
      .expect(422);
  });

  it('refuses activations once the monthly budget is spent, naming it; a higher or no budget lets them run', async () => {
    const project = `/v2/projects/${ws.project.id}`;
    const bad = await system.http
      .put(project)
      .auth(ws.admin, { type: 'bearer' })
      .send({ monthlyBudgetUsd: -1 })
      .expect(422);
    expect(bad.body.error.details.fields[0].field).toBe('monthlyBudgetUsd');
    // This month's activations of the project already cost more than a cent.
    const set = await system.http
      .put(project)
      .auth(ws.admin, { type: 'bearer' })
      .send({ monthlyBudgetUsd: 0.01 })
      .expect(200);
    expect(set.body.monthlyBudgetUsd).toBe(0.01);
    const before = fake.requests.length;
    const refused = await system.http
      .post('/v2/agents/product/activate')
      .auth(ws.sessions.product_manager.token, { type: 'bearer' })
      .send({ taskId: ws.task.id, input: SEED_INPUT, config: SEED_CONFIG })
      .expect(409);
    expect(refused.body.error.message).toMatch(/monthly agent budget of \$0\.01 is spent/);
    expect(refused.body.error.details).toEqual(
      expect.objectContaining({ monthlyBudgetUsd: 0.01, spentUsd: expect.any(Number) }),
    );
    expect(refused.body.error.details.spentUsd).toBeGreaterThan(0.01);
    expect(fake.requests.length).toBe(before);
    await system.http
      .put(project)
      .auth(ws.admin, { type: 'bearer' })
      .send({ monthlyBudgetUsd: 1000 })
      .expect(200);
    await until(await activate(), 'completed');
    const cleared = await system.http
      .put(project)
      .auth(ws.admin, { type: 'bearer' })
      .send({ monthlyBudgetUsd: null })
      .expect(200);
    expect(cleared.body.monthlyBudgetUsd).toBeNull();
  });

  it('moves steps pending -> in_progress -> completed as the model answers', async () => {
    fake.delayMs = 400;
    const id = await activate();
    const mid = await eventually(
      async () => {
        const p = await progressOf(id);
        return p.steps[2].status === 'in_progress' ? p : null;
      },
      10000,
      50,
    );
    expect(mid.steps.map((s: { status: string }) => s.status)).toEqual([
      'completed',
      'completed',
      'in_progress',
      'pending',
      'pending',
      'pending',
    ]);
    expect(mid.progress).toBe(33);
    expect(mid.currentStep).toBe('功能拆解');
    expect(mid.status).toBe('processing');
    await until(id, 'completed');
  });

  it('streams the steps live over SSE', async () => {
    fake.delayMs = 150;
    const id = await activate();
    const { events, ended } = await readSse(`${system.gateway.url}/v2/agents/activations/${id}/events`, {
      authorization: `Bearer ${ws.admin}`,
    });
    expect(ended).toBe(true);
    expect(
      events.filter((e) => e.event === 'step' && e.data.status === 'in_progress').map((e) => e.data.step),
    ).toEqual(PRODUCT_STEPS);
    expect(events.at(-1)!.event).toBe('completed');
  });

  it('retries 429 and 529 with backoff and then succeeds', async () => {
    fake.script.push(
      FakeAnthropic.error(429, 'rate_limit_error', 'slow down', { 'retry-after': '0' }),
      FakeAnthropic.error(529, 'overloaded_error', 'Overloaded', { 'retry-after': '0' }),
    );
    const before = fake.requests.length;
    const id = await activate();
    await until(id, 'completed');
    const calls = fake.requests.slice(before).map(FakeAnthropic.stepOf);
    expect(calls.slice(0, 3)).toEqual(['需求解析', '需求解析', '需求解析']);
    expect(calls).toHaveLength(8);
  });

  it('fails the activation with a readable message when the API refuses', async () => {
    fake.always = FakeAnthropic.error(400, 'invalid_request_error', 'max_tokens: too large for this model');
    const id = await activate();
    const p = await until(id, 'failed');
    expect(p.steps[0].status).toBe('failed');
    const result = (
      await system.http
        .get(`/v2/agents/activations/${id}/result`)
        .auth(ws.admin, { type: 'bearer' })
        .expect(200)
    ).body;
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/Anthropic API error 400.*max_tokens: too large/);
    expect(p.logs.at(-1)).toEqual(expect.objectContaining({ level: 'error' }));
  });

  it('cancels a running activation between steps at the latest', async () => {
    fake.delayMs = 800;
    const id = await activate();
    await eventually(async () => (await progressOf(id)).steps[0].status === 'in_progress', 5000, 50);
    const res = await system.http
      .post(`/v2/agents/activations/${id}/cancel`)
      .auth(ws.sessions.product_manager.token, { type: 'bearer' })
      .expect(202);
    expect(res.headers.location).toBe(`/v2/agents/activations/${id}/progress`);
    const p = await until(id, 'cancelled', 5000);
    expect(p.steps.filter((s: { status: string }) => s.status === 'completed').length).toBeLessThanOrEqual(1);
    await system.http
      .post(`/v2/agents/activations/${id}/cancel`)
      .auth(ws.admin, { type: 'bearer' })
      .expect(409);
    await system.http
      .get(`/v2/agents/activations/${id}/result`)
      .auth(ws.admin, { type: 'bearer' })
      .expect(200);
  });

  it('answers the result of a running activation with 409', async () => {
    fake.delayMs = 500;
    const id = await activate();
    const res = await system.http
      .get(`/v2/agents/activations/${id}/result`)
      .auth(ws.admin, { type: 'bearer' })
      .expect(409);
    expect(expectEnvelope(res.body, 'CONFLICT').details).toEqual(
      expect.objectContaining({ status: expect.stringMatching(/queued|processing/) }),
    );
    await until(id, 'completed');
  });

  it('an agent reads the task and the newest documents of the kinds it consumes; documents get versions', async () => {
    const as = (role: string) => ({ type: 'bearer' as const, token: ws.sessions[role].token });
    const agents = (
      await system.http.get('/v2/agents').auth(as('architect').token, as('architect')).expect(200)
    ).body.data as Array<{ type: string; consumes: string[] }>;
    expect(agents.find((a) => a.type === 'architecture')!.consumes).toEqual(['prd']);
    expect(agents.find((a) => a.type === 'product')!.consumes).toEqual([]);
    const architecture = async () => {
      const before = fake.requests.length;
      const id = (
        await system.http
          .post('/v2/agents/architecture/activate')
          .auth(as('architect').token, as('architect'))
          .send({ taskId: ws.task.id, input: { requirement: 'design it' } })
          .expect(202)
      ).body.activationId as string;
      await until(id, 'completed');
      const result = (
        await system.http
          .get(`/v2/agents/activations/${id}/result`)
          .auth(ws.admin, { type: 'bearer' })
          .expect(200)
      ).body;
      return { result, prompt: fake.requests[before].body.messages[0].content };
    };
    const prds = async () =>
      (
        await system.http
          .get(`/v2/projects/${ws.project.id}/documents?kind=prd&sortOrder=asc`)
          .auth(ws.admin, { type: 'bearer' })
          .expect(200)
      ).body.data as Array<{ id: string; version: number; taskId: string }>;

    await until(await activate(), 'completed');
    const before = (await prds()).filter((d) => d.taskId === ws.task.id);
    const first = await architecture();
    const newest = before.at(-1)!;
    expect(first.result.documents).toEqual([
      { id: newest.id, kind: 'prd', version: newest.version, title: expect.any(String) },
    ]);
    expect(first.prompt).toContain(`Task ${ws.task.key}: 用户中心`);
    expect(first.prompt).toContain(`Upstream document (prd v${newest.version})`);

    // A new PRD for the same task is the next version; the old one stays readable.
    await until(await activate(), 'completed');
    const after = (await prds()).filter((d) => d.taskId === ws.task.id);
    expect(after.map((d) => d.version)).toEqual(after.map((_, i) => i + 1));
    expect(after).toHaveLength(before.length + 1);
    await system.http
      .get(`/v2/projects/${ws.project.id}/documents/${newest.id}`)
      .auth(ws.admin, { type: 'bearer' })
      .expect(200);
    const second = await architecture();
    expect(second.result.documents[0]).toEqual(
      expect.objectContaining({ id: after.at(-1)!.id, version: after.length }),
    );
  });

  it('finishes an activation whose worker was SIGKILLed mid-run on the restarted worker, without redoing finished steps', async () => {
    fake.delayMs = 300;
    const before = fake.requests.length;
    const id = await activate();
    await eventually(async () => (await progressOf(id)).steps[2].status === 'in_progress', 10000, 30);
    await system.worker.kill('SIGKILL');
    const stuck = await progressOf(id);
    expect(stuck.status).toBe('processing');
    await system.worker.start();
    const done = await until(id, 'completed', 20000);
    expect(done.steps.every((s: { status: string }) => s.status === 'completed')).toBe(true);
    const steps = fake.requests.slice(before).map(FakeAnthropic.stepOf);
    expect(steps.filter((s) => s === '需求解析')).toHaveLength(1);
    expect(steps.filter((s) => s === '用户故事生成')).toHaveLength(1);
    expect(done.logs.some((l: { message: string }) => /继续/.test(l.message))).toBe(true);
    void requestsFor;
  });

  it('on SIGTERM finishes the running step, hands the activation back, and another worker completes it', async () => {
    fake.delayMs = 600;
    const id = await activate();
    await eventually(async () => (await progressOf(id)).steps[1].status === 'in_progress', 10000, 30);
    const stopped = Date.now();
    await system.worker.kill('SIGTERM');
    expect(Date.now() - stopped).toBeLessThan(5000);
    const handed = await progressOf(id);
    expect(handed.steps[1].status).toBe('completed'); // the step in flight was finished, not lost
    expect(handed.logs.some((l: { message: string }) => /交还/.test(l.message))).toBe(true);
    await system.worker.start();
    await until(id, 'completed', 20000);
  });
});
