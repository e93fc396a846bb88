import { expectEnvelope, TestSystem } from '../support/system';

const ROLES = ['admin', 'product_manager', 'architect', 'developer', 'tester', 'devops', 'viewer'] as const;
type RoleName = (typeof ROLES)[number];
const ALL: RoleName[] = [...ROLES];
const NOT_VIEWER: RoleName[] = ROLES.filter((r) => r !== 'viewer');
const ADMIN: RoleName[] = ['admin'];
const PROJECT_WRITERS: RoleName[] = ['admin', 'product_manager'];
const TASK_WRITERS: RoleName[] = ['admin', 'product_manager', 'architect', 'developer', 'tester'];
const DEPLOYERS: RoleName[] = ['admin', 'devops'];
const PIPELINE_WRITERS: RoleName[] = ['admin', 'devops'];
const BUILD_TRIGGERERS: RoleName[] = ['admin', 'developer', 'devops'];
const TEST_WRITERS: RoleName[] = ['admin', 'developer', 'tester'];
const CHANGE_MERGERS: RoleName[] = ['admin', 'architect', 'developer'];

interface Endpoint {
  method: 'get' | 'post' | 'put' | 'delete';
  path: (ctx: { selfId: string }) => string;
  body?: object;
  allowed: RoleName[];
  /**
   * What an allowed role gets: the handler's own answer to the made-up ids and bodies used here.
   * Default: 422 for an empty body, 404 for a missing id, else 200.
   */
  status?: number;
}

function allowedStatus(e: Endpoint): number {
  if (e.status) return e.status;
  if (e.body) return 422;
  if (/_missing/.test(e.path({ selfId: 'usr_self' }))) return 404;
  return 200;
}

/**
 * The permission matrix of this slice, written out as the specification: every role against every
 * authenticated endpoint. "Allowed" means the guard lets the request through and the handler gives
 * its own answer (`status`: 404 or 422 for the made-up ids and bodies used here, never a 500);
 * "denied" means 403.
 */
const MATRIX: Record<string, Endpoint> = {
  'GET /auth/me': { method: 'get', path: () => '/v2/auth/me', allowed: ALL },
  'POST /auth/clients': { method: 'post', path: () => '/v2/auth/clients', body: {}, allowed: NOT_VIEWER },
  'GET /auth/clients': { method: 'get', path: () => '/v2/auth/clients', allowed: ALL },
  'DELETE /auth/clients/{id}': {
    method: 'delete',
    path: () => '/v2/auth/clients/cli_missing',
    allowed: NOT_VIEWER,
  },
  'POST /auth/clients/{id}/rotate-secret': {
    method: 'post',
    path: () => '/v2/auth/clients/cli_missing/rotate-secret',
    allowed: NOT_VIEWER,
  },
  'GET /users': { method: 'get', path: () => '/v2/users', allowed: ALL },
  'POST /users': { method: 'post', path: () => '/v2/users', body: {}, allowed: ADMIN },
  'GET /users/me': { method: 'get', path: () => '/v2/users/me', allowed: ALL },
  'PUT /users/me/password': { method: 'put', path: () => '/v2/users/me/password', body: {}, allowed: ALL },
  'GET /users/{id}': { method: 'get', path: ({ selfId }) => `/v2/users/${selfId}`, allowed: ALL },
  'PUT /users/{id}': {
    status: 200,
    method: 'put',
    path: ({ selfId }) => `/v2/users/${selfId}`,
    body: {},
    allowed: NOT_VIEWER,
  },
  'DELETE /users/{id}': { method: 'delete', path: () => '/v2/users/usr_missing', allowed: ADMIN },
  'POST /users/{id}/resend-verification': {
    method: 'post',
    path: () => '/v2/users/usr_missing/resend-verification',
    allowed: ADMIN,
  },
  'GET /audit-logs': { method: 'get', path: () => '/v2/audit-logs', allowed: ADMIN },
  'GET /rate-limit': { method: 'get', path: () => '/v2/rate-limit', allowed: ALL },
  'POST /projects': { method: 'post', path: () => '/v2/projects', body: {}, allowed: PROJECT_WRITERS },
  'GET /projects': { method: 'get', path: () => '/v2/projects', allowed: ALL },
  'GET /projects/{id}': { method: 'get', path: () => '/v2/projects/prj_missing', allowed: ALL },
  'PUT /projects/{id}': {
    status: 404,
    method: 'put',
    path: () => '/v2/projects/prj_missing',
    body: {},
    allowed: PROJECT_WRITERS,
  },
  'DELETE /projects/{id}': {
    method: 'delete',
    path: () => '/v2/projects/prj_missing',
    allowed: PROJECT_WRITERS,
  },
  'GET /projects/{id}/members': {
    method: 'get',
    path: () => '/v2/projects/prj_missing/members',
    allowed: ALL,
  },
  'POST /projects/{id}/members': {
    method: 'post',
    path: () => '/v2/projects/prj_missing/members',
    body: {},
    allowed: PROJECT_WRITERS,
  },
  'DELETE /projects/{id}/members/{id}': {
    method: 'delete',
    path: () => '/v2/projects/prj_missing/members/usr_missing',
    allowed: PROJECT_WRITERS,
  },
  'POST /projects/{id}/tasks': {
    method: 'post',
    path: () => '/v2/projects/prj_missing/tasks',
    body: {},
    allowed: TASK_WRITERS,
  },
  'GET /projects/{id}/tasks': { method: 'get', path: () => '/v2/projects/prj_missing/tasks', allowed: ALL },
  'GET /tasks/{id}': { status: 404, method: 'get', path: () => '/v2/tasks/MISSING-1', allowed: ALL },
  'PUT /tasks/{id}': {
    status: 404,
    method: 'put',
    path: () => '/v2/tasks/MISSING-1',
    body: {},
    allowed: TASK_WRITERS,
  },
  'DELETE /tasks/{id}': {
    status: 404,
    method: 'delete',
    path: () => '/v2/tasks/MISSING-1',
    allowed: TASK_WRITERS,
  },
  'PUT /tasks/{id}/status': {
    method: 'put',
    path: () => '/v2/tasks/MISSING-1/status',
    body: {},
    allowed: TASK_WRITERS,
  },
  'GET /tasks/{id}/history': {
    status: 404,
    method: 'get',
    path: () => '/v2/tasks/MISSING-1/history',
    allowed: ALL,
  },
  'POST /webhooks': { method: 'post', path: () => '/v2/webhooks', body: {}, allowed: NOT_VIEWER },
  'GET /webhooks': { method: 'get', path: () => '/v2/webhooks', allowed: ALL },
  'GET /webhooks/events': { method: 'get', path: () => '/v2/webhooks/events', allowed: ALL },
  'GET /webhooks/{id}': { method: 'get', path: () => '/v2/webhooks/whk_missing', allowed: ALL },
  'PUT /webhooks/{id}': {
    status: 404,
    method: 'put',
    path: () => '/v2/webhooks/whk_missing',
    body: {},
    allowed: NOT_VIEWER,
  },
  'DELETE /webhooks/{id}': { method: 'delete', path: () => '/v2/webhooks/whk_missing', allowed: NOT_VIEWER },
  'GET /webhooks/{id}/deliveries': {
    method: 'get',
    path: () => '/v2/webhooks/whk_missing/deliveries',
    allowed: ALL,
  },
  'GET /webhooks/{id}/deliveries/{id}': {
    method: 'get',
    path: () => '/v2/webhooks/whk_missing/deliveries/dlv_x',
    allowed: ALL,
  },
  'POST /webhooks/{id}/deliveries/{id}/redeliver': {
    method: 'post',
    path: () => '/v2/webhooks/whk_missing/deliveries/dlv_x/redeliver',
    allowed: NOT_VIEWER,
  },
  'POST /webhooks/{id}/ping': {
    method: 'post',
    path: () => '/v2/webhooks/whk_missing/ping',
    allowed: NOT_VIEWER,
  },
  // Activation and cancel check the per-agent permission in the service (agents.e2e-spec.ts walks it).
  'GET /agents': { method: 'get', path: () => '/v2/agents', allowed: ALL },
  'POST /agents/{id}/activate': {
    method: 'post',
    path: () => '/v2/agents/product/activate',
    body: {},
    allowed: ALL,
  },
  'GET /agents/activations': { method: 'get', path: () => '/v2/agents/activations', allowed: ALL },
  'GET /agents/activations/{id}/progress': {
    status: 404,
    method: 'get',
    path: () => '/v2/agents/activations/act_x/progress',
    allowed: ALL,
  },
  'GET /agents/activations/{id}/result': {
    status: 404,
    method: 'get',
    path: () => '/v2/agents/activations/act_x/result',
    allowed: ALL,
  },
  'POST /agents/activations/{id}/cancel': {
    status: 404,
    method: 'post',
    path: () => '/v2/agents/activations/act_x/cancel',
    allowed: ALL,
  },
  'GET /agents/activations/{id}/attachments/{id}': {
    status: 404,
    method: 'get',
    path: () => '/v2/agents/activations/act_x/attachments/prd.md',
    allowed: ALL,
  },
  'GET /agents/activations/{id}/events': {
    status: 404,
    method: 'get',
    path: () => '/v2/agents/activations/act_x/events',
    allowed: ALL,
  },
  'GET /projects/{id}/documents': {
    method: 'get',
    path: () => '/v2/projects/prj_missing/documents',
    allowed: ALL,
  },
  'GET /projects/{id}/documents/{id}': {
    method: 'get',
    path: () => '/v2/projects/prj_missing/documents/doc_x',
    allowed: ALL,
  },
  'GET /projects/{id}/usage': {
    method: 'get',
    path: () => '/v2/projects/prj_missing/usage',
    allowed: ALL,
  },
  'POST /applications': { method: 'post', path: () => '/v2/applications', body: {}, allowed: DEPLOYERS },
  'GET /applications': { method: 'get', path: () => '/v2/applications', allowed: ALL },
  'GET /applications/{id}': { method: 'get', path: () => '/v2/applications/app_missing', allowed: ALL },
  'POST /deployments': { method: 'post', path: () => '/v2/deployments', body: {}, allowed: DEPLOYERS },
  'GET /deployments': { method: 'get', path: () => '/v2/deployments', allowed: ALL },
  'GET /deployments/{id}': { method: 'get', path: () => '/v2/deployments/dep_missing', allowed: ALL },
  // Any role but viewer may approve; the service then requires being a named approver.
  'POST /deployments/{id}/approve': {
    status: 404,
    method: 'post',
    path: () => '/v2/deployments/dep_missing/approve',
    body: {},
    allowed: NOT_VIEWER,
  },
  'POST /deployments/{id}/reject': {
    method: 'post',
    path: () => '/v2/deployments/dep_missing/reject',
    body: {},
    allowed: NOT_VIEWER,
  },
  'POST /deployments/{id}/rollback': {
    method: 'post',
    path: () => '/v2/deployments/dep_missing/rollback',
    body: {},
    allowed: DEPLOYERS,
  },
  'POST /pipelines': { method: 'post', path: () => '/v2/pipelines', body: {}, allowed: PIPELINE_WRITERS },
  'GET /pipelines': { method: 'get', path: () => '/v2/pipelines', allowed: ALL },
  'GET /pipelines/{id}': { method: 'get', path: () => '/v2/pipelines/pipe_missing', allowed: ALL },
  'PUT /pipelines/{id}': {
    status: 404,
    method: 'put',
    path: () => '/v2/pipelines/pipe_missing',
    body: {},
    allowed: PIPELINE_WRITERS,
  },
  'DELETE /pipelines/{id}': {
    method: 'delete',
    path: () => '/v2/pipelines/pipe_missing',
    allowed: PIPELINE_WRITERS,
  },
  'POST /pipelines/{id}/trigger': {
    status: 404,
    method: 'post',
    path: () => '/v2/pipelines/pipe_missing/trigger',
    body: {},
    allowed: BUILD_TRIGGERERS,
  },
  'GET /pipelines/{id}/builds': {
    method: 'get',
    path: () => '/v2/pipelines/pipe_missing/builds',
    allowed: ALL,
  },
  'GET /builds/{id}': { method: 'get', path: () => '/v2/builds/build_missing', allowed: ALL },
  'POST /builds/{id}/cancel': {
    method: 'post',
    path: () => '/v2/builds/build_missing/cancel',
    allowed: BUILD_TRIGGERERS,
  },
  'GET /builds/{id}/logs': { method: 'get', path: () => '/v2/builds/build_missing/logs', allowed: ALL },
  'GET /builds/{id}/artifacts/{id}': {
    method: 'get',
    path: () => '/v2/builds/build_missing/artifacts/app.jar',
    allowed: ALL,
  },
  'POST /tests/suites': { method: 'post', path: () => '/v2/tests/suites', body: {}, allowed: TEST_WRITERS },
  'GET /tests/suites': { method: 'get', path: () => '/v2/tests/suites', allowed: ALL },
  'GET /tests/suites/{id}': { method: 'get', path: () => '/v2/tests/suites/suite_missing', allowed: ALL },
  'POST /tests/suites/{id}/run': {
    status: 404,
    method: 'post',
    path: () => '/v2/tests/suites/suite_missing/run',
    body: {},
    allowed: TEST_WRITERS,
  },
  'GET /tests/suites/{id}/runs': {
    method: 'get',
    path: () => '/v2/tests/suites/suite_missing/runs',
    allowed: ALL,
  },
  'GET /tests/runs/{id}': { method: 'get', path: () => '/v2/tests/runs/run_missing', allowed: ALL },
  'GET /tests/runs/{id}/report': {
    method: 'get',
    path: () => '/v2/tests/runs/run_missing/report',
    allowed: ALL,
  },
  'GET /projects/{id}/changes': {
    method: 'get',
    path: () => '/v2/projects/prj_missing/changes',
    allowed: ALL,
  },
  'GET /changes/{id}': { method: 'get', path: () => '/v2/changes/chg_missing', allowed: ALL },
  'GET /changes/{id}/diff': { method: 'get', path: () => '/v2/changes/chg_missing/diff', allowed: ALL },
  'POST /changes/{id}/merge': {
    status: 404,
    method: 'post',
    path: () => '/v2/changes/chg_missing/merge',
    body: {},
    allowed: CHANGE_MERGERS,
  },
  'POST /changes/{id}/close': {
    method: 'post',
    path: () => '/v2/changes/chg_missing/close',
    allowed: CHANGE_MERGERS,
  },
  // Flows check the role in the handler (the first stage's, the next stage's): the task or flow comes first.
  'POST /tasks/{id}/flows': { method: 'post', path: () => '/v2/tasks/task_missing/flows', allowed: ALL },
  'GET /flows': { method: 'get', path: () => '/v2/flows', allowed: ALL },
  'GET /flows/{id}': { method: 'get', path: () => '/v2/flows/flow_missing', allowed: ALL },
  'GET /flows/{id}/events': {
    status: 404,
    method: 'get',
    path: () => '/v2/flows/flow_missing/events',
    allowed: ALL,
  },
  'POST /flows/{id}/approve': { method: 'post', path: () => '/v2/flows/flow_missing/approve', allowed: ALL },
  'POST /flows/{id}/retry-stage': {
    method: 'post',
    path: () => '/v2/flows/flow_missing/retry-stage',
    allowed: ALL,
  },
  'POST /flows/{id}/reject': { method: 'post', path: () => '/v2/flows/flow_missing/reject', allowed: ALL },
  'POST /flows/{id}/cancel': { method: 'post', path: () => '/v2/flows/flow_missing/cancel', allowed: ALL },
};
const PUBLIC = ['POST /auth/token', 'POST /auth/refresh', 'POST /auth/revoke', 'POST /users/verify-email'];

describe('RBAC: the permission matrix, every role against every endpoint', () => {
  let system: TestSystem;
  const sessions = {} as Record<RoleName, { id: string; token: string }>;

  beforeAll(async () => {
    system = await TestSystem.start({ worker: false });
    const adminMe = await system.http.get('/v2/users/me').auth(await system.adminToken(), { type: 'bearer' });
    sessions.admin = { id: adminMe.body.id, token: await system.adminToken() };
    for (const role of ROLES.filter((r) => r !== 'admin')) sessions[role] = await system.userWithRole(role);
  });
  afterAll(() => system?.stop());

  const cases = Object.entries(MATRIX).flatMap(([name, endpoint]) =>
    ROLES.map((role) => [name, role, endpoint.allowed.includes(role) ? 'allowed' : 'denied'] as const),
  );

  it.each(cases)('%s as %s is %s', async (name, role, expected) => {
    const endpoint = MATRIX[name];
    const session = sessions[role];
    let req = system.http[endpoint.method](endpoint.path({ selfId: session.id })).auth(session.token, {
      type: 'bearer',
    });
    if (endpoint.body) req = req.send(endpoint.body);
    const res = await req;
    expect(res.status).not.toBe(401);
    if (expected === 'denied') {
      expect(res.status).toBe(403);
      expectEnvelope(res.body, 'FORBIDDEN');
    } else {
      expect(`${res.status} ${JSON.stringify(res.body).slice(0, 200)}`).toMatch(
        new RegExp(`^${allowedStatus(endpoint)} `),
      );
    }
  });

  it('covers every authenticated endpoint of the OpenAPI document, and only the public ones are public', async () => {
    const doc = await system.http.get('/docs-json').expect(200);
    const secured: string[] = [];
    const open: string[] = [];
    for (const [path, ops] of Object.entries(
      doc.body.paths as Record<string, Record<string, { security?: unknown[] }>>,
    )) {
      if (!path.startsWith('/v2/')) continue;
      for (const [method, op] of Object.entries(ops)) {
        const name = `${method.toUpperCase()} ${path.replace('/v2', '').replace(/\{[^}]+\}/g, '{id}')}`;
        (op.security?.length ? secured : open).push(name);
      }
    }
    expect(secured.sort()).toEqual(Object.keys(MATRIX).sort());
    expect(open.sort()).toEqual([...PUBLIC].sort());
  });

  it('reports each role’s effective permissions at /auth/me', async () => {
    const viewer = await system.http
      .get('/v2/auth/me')
      .auth(sessions.viewer.token, { type: 'bearer' })
      .expect(200);
    expect(viewer.body.permissions.every((p: string) => p.endsWith(':read'))).toBe(true);
    const admin = await system.http
      .get('/v2/auth/me')
      .auth(sessions.admin.token, { type: 'bearer' })
      .expect(200);
    expect(admin.body.permissions).toEqual(
      expect.arrayContaining(['users:admin', 'audit-logs:admin', 'clients:admin']),
    );
  });
});
