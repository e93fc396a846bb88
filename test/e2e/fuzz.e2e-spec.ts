import fc from 'fast-check';
import {
  BAD_STRINGS,
  encodePathSegment,
  OpenApiDocument,
  Operation,
  operationsOf,
  SchemaKit,
} from '../support/openapi-fuzz';
import { TestSystem } from '../support/system';

/**
 * Property-based fuzzing of every operation of the OpenAPI document (/docs-json), as an admin
 * and as a viewer: generated valid and invalid bodies, query parameters and path ids. It fails on
 * any 5xx, on a 2xx to an invalid body or query, on a 2xx body that does not match the documented
 * response schema, and on an error that is not the seed's envelope. Operations come from the
 * document, so a new route is fuzzed without editing this file.
 *
 * FUZZ_RUNS (default 8) is the number of generated requests per operation, role and kind of
 * input; FUZZ_SEED (default 20260314) fixes the generation. `FUZZ_RUNS=200` for a deep local run.
 * FUZZ_DEBUG=1 prints every valid request that did not answer 2xx (why a handler was not reached).
 * Fixtures give every path parameter a real object, so most operations answer 2xx to valid input
 * (56 of 83 at FUZZ_RUNS=8; the rest start work, need a state or a secret): at least 50 must.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 8);
const SEED = Number(process.env.FUZZ_SEED ?? 20260314);
/** POSTs that start real work (sandboxed commands, deploy scripts, agents) are slow: they get only invalid input. */
const STARTS_WORK =
  /\/(trigger|run|deploy|rollback|activate|activations|redeliver|ping)$|^\/v2\/deployments$/;

type Role = 'admin' | 'viewer';
type Kind = 'valid' | 'invalid-body' | 'invalid-query' | 'odd-ids';
interface Generated {
  pathValues: Record<string, string>;
  query: Record<string, string>;
  body: unknown;
  /** Why the input is invalid (a 2xx is then a failure), or null. */
  invalid: string | null;
}

jest.setTimeout(10 * 60_000);

describe('fuzz: every documented operation, valid and invalid input', () => {
  let system: TestSystem;
  let document: OpenApiDocument;
  let kit: SchemaKit;
  const tokens: Record<Role, string> = { admin: '', viewer: '' };
  let viewerCredentials: { username: string; password: string };
  const fixtures: Record<string, string> = {};
  let requests = 0;
  const statuses = new Map<number, number>();
  /** Operations that answered 2xx to valid input at least once (the fixtures reach them). */
  const reached = new Set<string>();

  beforeAll(async () => {
    system = await TestSystem.start({ worker: false, env: { WEBHOOKS_ALLOW_PRIVATE: 'true' } });
    document = (await system.http.get('/docs-json').expect(200)).body as OpenApiDocument;
    kit = new SchemaKit(document);
    tokens.admin = await system.adminToken();
    const viewer = await system.userWithRole('viewer');
    viewerCredentials = viewer;
    tokens.viewer = viewer.token;
    const target = await system.userWithRole('developer');
    const as = (method: 'post', url: string, body: object) =>
      system.http[method](url).auth(tokens.admin, { type: 'bearer' }).send(body);
    const project = await as('post', '/v2/projects', {
      name: 'Fuzz',
      key: 'FUZZ',
      ownerId: target.id,
      members: [viewer.id],
      visibility: 'internal',
    }).expect(201);
    const task = await as('post', `/v2/projects/${project.body.id}/tasks`, {
      type: 'task',
      title: 'fuzz',
    }).expect(201);
    const pipeline = await as('post', '/v2/pipelines', {
      projectId: project.body.id,
      name: 'fuzz',
      repositoryUrl: 'https://example.com/fuzz.git',
      stages: [{ name: 'build', commands: ['true'] }],
    }).expect(201);
    const suite = await as('post', '/v2/tests/suites', {
      projectId: project.body.id,
      name: 'fuzz',
      repositoryUrl: 'https://example.com/fuzz.git',
      command: 'true',
      reportPath: 'r.xml',
    }).expect(201);
    // One of everything a path can name, so valid requests reach the handlers (2xx), not only
    // 404s. Without a worker, the work they start stays queued, which is all the fuzz needs.
    const projectId = project.body.id as string;
    const build = await as('post', `/v2/pipelines/${pipeline.body.id}/trigger`, { branch: 'main' }).expect(
      202,
    );
    const run = await as('post', `/v2/tests/suites/${suite.body.id}/run`, {}).expect(202);
    const application = await as('post', '/v2/applications', {
      projectId,
      name: 'fuzz-app',
      target: { type: 'script', command: 'true' },
    }).expect(201);
    const deployment = await as('post', '/v2/deployments', {
      applicationId: application.body.id,
      environment: 'dev',
      version: 'v1.0.0',
    }).expect(202);
    const activation = await as('post', '/v2/agents/product/activate', {
      taskId: task.body.id,
      input: { requirement: 'fuzz' },
    }).expect(202);
    const webhook = await as('post', '/v2/webhooks', {
      url: 'http://127.0.0.1:9/fuzz',
      events: ['task.updated'],
      projectId,
    }).expect(201);
    const delivery = await as('post', `/v2/webhooks/${webhook.body.id}/ping`, {}).expect(202);
    const client = await as('post', '/v2/auth/clients', { name: 'fuzz' }).expect(201);
    const flow = await as('post', `/v2/tasks/${task.body.id}/flows`, {
      stages: ['product'],
      gates: ['product'],
      config: { provider: 'template' },
    }).expect(202);
    // A finished flow: its event stream ends once it has sent what there is.
    await as('post', `/v2/flows/${flow.body.flowId}/cancel`, {}).expect(200);
    const [prd] = await system.sql<{ id: string }>(
      `INSERT INTO project_documents (id, project_id, task_id, activation_id, kind, title, format, content)
       VALUES ('doc_fuzz000000000000', $1, $2, $3, 'prd', 'Fuzz PRD', 'markdown', '# Fuzz') RETURNING id`,
      [projectId, task.body.id, activation.body.activationId],
    );
    Object.assign(fixtures, {
      projectId,
      taskId: task.body.id,
      parentTaskId: task.body.id,
      pipelineId: pipeline.body.id,
      suiteId: suite.body.id,
      userId: target.id,
      buildId: build.body.buildId,
      runId: run.body.runId,
      applicationId: application.body.id,
      deploymentId: deployment.body.deploymentId,
      activationId: activation.body.activationId,
      webhookId: webhook.body.id,
      deliveryId: delivery.body.id,
      clientId: client.body.client_id,
      documentId: prd.id,
      flowId: flow.body.flowId,
    });
  });
  afterAll(() => system?.stop());

  /** The logout operation and user changes may revoke a token: get a new one when it stops working. */
  async function freshTokens(): Promise<void> {
    for (const role of ['admin', 'viewer'] as const) {
      const res = await system.http.get('/v2/auth/me').auth(tokens[role], { type: 'bearer' });
      if (res.status === 200) continue;
      tokens[role] =
        role === 'admin'
          ? await system.token({ grant_type: 'password', username: 'admin', password: 'AdminPass123' })
          : await system.token({ grant_type: 'password', ...viewerCredentials });
    }
  }

  const idLike = (name: string) => {
    const prefix = /^(\w+?)Id$/.exec(name)?.[1] ?? name;
    return `${prefix.slice(0, 5).toLowerCase()}_doesnotexist0000`;
  };

  function pathArb(op: Operation, odd: boolean): fc.Arbitrary<Record<string, string>> {
    const record: Record<string, fc.Arbitrary<string>> = {};
    for (const p of op.parameters.filter((x) => x.in === 'path')) {
      const known = fixtures[p.name];
      const plausible = fc.constantFrom(...(known ? [known] : []), idLike(p.name));
      record[p.name] = odd
        ? fc.oneof(
            fc.constantFrom(
              ...BAD_STRINGS,
              'a'.repeat(2000),
              '%00',
              '..',
              '%',
              ' ',
              "'; drop table x;--",
              '0',
              '-1',
            ),
            fc.string({ minLength: 1, maxLength: 60, unit: 'binary' }),
            plausible.map((v) => `${v}\u0000`),
          )
        : plausible;
    }
    return fc.record(record);
  }

  function validQueryArb(op: Operation): fc.Arbitrary<Record<string, string>> {
    const record: Record<string, fc.Arbitrary<string>> = {};
    for (const p of op.parameters.filter((x) => x.in === 'query')) {
      record[p.name] = kit.valid(p.schema ?? { type: 'string' }, fixtures, p.name).map((v) => String(v));
    }
    return fc.record(record, {
      requiredKeys: op.parameters.filter((p) => p.in === 'query' && p.required).map((p) => p.name),
    });
  }

  function arbitrary(op: Operation, kind: Kind): fc.Arbitrary<Generated> {
    const body = op.requestSchema ? kit.valid(op.requestSchema, fixtures) : fc.constant(undefined);
    const base = fc.record({ pathValues: pathArb(op, kind === 'odd-ids'), query: validQueryArb(op) });
    if (kind === 'invalid-body') {
      if (!op.requestSchema) return fc.constant(null as never);
      return fc.tuple(base, kit.invalid(op.requestSchema, fixtures)).map(([b, { body: bad, mutation }]) => {
        const problem = kit.requestProblem(op.requestSchema!, bad);
        const badString = mutation === 'bad string';
        return {
          ...b,
          body: bad,
          invalid: badString ? mutation : problem ? `${mutation}: ${problem}` : null,
        };
      });
    }
    if (kind === 'invalid-query') {
      const queryNames = op.parameters.filter((p) => p.in === 'query').map((p) => p.name);
      const bad = fc.oneof(
        fc.constant({ zzUnknown: '1' }),
        ...(queryNames.length
          ? [
              fc
                // Lone surrogates cannot travel in a URL (a client sends U+FFFD): only NULs stay bad.
                .tuple(
                  fc.constantFrom(...queryNames),
                  fc.constantFrom(...BAD_STRINGS.filter((b) => b.includes('\u0000'))),
                )
                .map(([k, v]) => ({ [k]: v })),
            ]
          : []),
      );
      return fc.tuple(base, bad, body).map(([b, q, validBody]) => ({
        ...b,
        query: { ...b.query, ...q },
        body: validBody,
        invalid: `query ${JSON.stringify(q)}`,
      }));
    }
    return fc.tuple(base, body).map(([b, validBody]) => ({ ...b, body: validBody, invalid: null }));
  }

  async function send(op: Operation, role: Role, input: Generated) {
    const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) =>
      encodePathSegment(input.pathValues[name] ?? ''),
    );
    const query = Object.entries(input.query)
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodePathSegment(v)}`)
      .join('&');
    const url = query ? `${path}?${query}` : path;
    requests++;
    const req = (system.http as unknown as Record<string, (u: string) => import('supertest').Test>)
      [op.method](url)
      .auth(tokens[role], { type: 'bearer' })
      .timeout(15_000)
      .buffer(true);
    if (input.body !== undefined) {
      req.set('Content-Type', 'application/json').send(JSON.stringify(input.body));
    }
    const res = await req.ok(() => true);
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    return res;
  }

  function problemWith(
    op: Operation,
    input: Generated,
    res: { status: number; body: unknown; headers: Record<string, string> },
  ): string | null {
    if (res.status >= 500) return `answered ${res.status}: ${JSON.stringify(res.body)}`;
    const json = (res.headers['content-type'] ?? '').startsWith('application/json');
    if (res.status >= 400) {
      const envelope = document.components?.schemas?.ErrorEnvelope;
      if (!json) return `answered ${res.status} without a JSON envelope`;
      const problem =
        envelope && kit.responseProblem({ $ref: '#/components/schemas/ErrorEnvelope' }, res.body);
      return problem ? `${res.status} is not the error envelope: ${problem}` : null;
    }
    if (input.invalid) return `answered ${res.status} to invalid input (${input.invalid})`;
    const documented = op.responses[String(res.status)];
    if (!documented) return `answered undocumented status ${res.status}`;
    const schema = documented.content?.['application/json']?.schema;
    if (schema && json) {
      const problem = kit.responseProblem(schema, res.body);
      if (problem) return `${res.status} body does not match the documented schema: ${problem}`;
    }
    return null;
  }

  it('answers every operation without a 5xx, refuses invalid input, and keeps to its response schema', async () => {
    const failures: string[] = [];
    const started = Date.now();
    // Deletions last, so the fixtures live as long as possible.
    const operations = operationsOf(document).sort(
      (a, b) => Number(a.method === 'delete') - Number(b.method === 'delete'),
    );
    expect(operations.length).toBeGreaterThan(50);
    for (const op of operations) {
      for (const role of ['admin', 'viewer'] as const) {
        await freshTokens();
        const kinds: Kind[] = ['invalid-query', 'odd-ids'];
        if (op.requestSchema) kinds.push('invalid-body');
        if (op.method === 'get' || !STARTS_WORK.test(op.path)) kinds.unshift('valid');
        for (const kind of kinds) {
          if (kind === 'odd-ids' && !op.parameters.some((p) => p.in === 'path')) continue;
          const result = await fc.check(
            fc.asyncProperty(arbitrary(op, kind), async (input) => {
              const res = await send(op, role, input);
              if (!input.invalid && res.status < 300) reached.add(`${op.method} ${op.path}`);
              if (process.env.FUZZ_DEBUG && !input.invalid && res.status >= 300 && kind === 'valid')
                console.log(
                  `${op.method} ${op.path} ${role} ${JSON.stringify(input).slice(0, 300)} -> ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`,
                );
              const problem = problemWith(op, input, res);
              if (problem) throw new Error(problem);
            }),
            { seed: SEED, numRuns: RUNS, endOnFailure: true },
          );
          if (result.failed) {
            const error =
              result.errorInstance instanceof Error
                ? result.errorInstance.message
                : String(result.errorInstance);
            failures.push(
              `${op.method.toUpperCase()} ${op.path} as ${role}, ${kind}: ${error}\n    input: ${JSON.stringify(result.counterexample?.[0])}`,
            );
          }
        }
      }
    }
    console.log(
      `fuzz: ${operations.length} operations, ${requests} requests in ${Date.now() - started} ms (FUZZ_RUNS=${RUNS}, FUZZ_SEED=${SEED}); statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}; ${reached.size} operations answered 2xx; never: ${operations
        .filter((op) => !reached.has(`${op.method} ${op.path}`))
        .map((op) => `${op.method.toUpperCase()} ${op.path}`)
        .join(', ')}`,
    );
    expect(failures).toEqual([]);
    expect(reached.size).toBeGreaterThanOrEqual(Math.min(50, operations.length));
  });
});
