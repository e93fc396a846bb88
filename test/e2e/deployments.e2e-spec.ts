import { createHmac, timingSafeEqual } from 'node:crypto';
import { Received, Receiver } from '../support/receiver';
import { DEPLOYMENT_DONE, eventually, expectEnvelope, TestSystem } from '../support/system';

type Session = { id: string; token: string };
type Deployment = {
  deploymentId: string;
  status: string;
  version: string;
  steps: Array<Record<string, unknown> & { name: string; status: string }>;
  [key: string]: unknown;
};

/**
 * The deploy script every script application here runs, in its sandbox. It prints the DEPLOY_*
 * variables of each step (with a nanosecond clock, so steps of several deployments can be put in
 * order from their recorded outputs), and its version decides how a step goes:
 * `...-fail-<step>` fails that step, `...-slow-<step>` takes two seconds, `...-hang-<step>` takes
 * four seconds the first time it runs (DEPLOY_STEP_ATTEMPT 1).
 */
const DEPLOY_SCRIPT = `
echo "@@$(date +%s%N)|$DEPLOY_APP|$DEPLOY_ENV|$DEPLOY_VERSION|$DEPLOY_STRATEGY|$DEPLOY_STEP|$DEPLOY_ACTION|$DEPLOY_PERCENT|\${DEPLOY_COLOR:-}|\${DEPLOY_PREVIOUS_VERSION:-}"
case "$DEPLOY_VERSION" in
  *-fail-"$DEPLOY_STEP") echo "step $DEPLOY_STEP refused" >&2; exit 1 ;;
  *-slow-"$DEPLOY_STEP") sleep 2 ;;
  *-hang-"$DEPLOY_STEP") [ "$DEPLOY_STEP_ATTEMPT" -gt 1 ] || sleep 4 ;;
esac
echo "done $DEPLOY_STEP"
`;

describe('deployments: applications, strategy plans, approvals, one at a time, rollback, targets, lost workers', () => {
  const receiver = new Receiver();
  let system: TestSystem;
  let admin: string;
  let owner: Session; // product manager, owner of the project
  let devops: Session; // member
  let architect: Session; // member
  let developer: Session; // member
  let viewer: Session; // member
  let outsider: Session; // devops, not a member of the private project
  let project: { id: string };
  let appSeq = 0;

  beforeAll(async () => {
    await receiver.start();
    system = await TestSystem.start({
      env: {
        WEBHOOKS_ALLOW_PRIVATE: 'true',
        DEPLOY_ROLLING_BATCHES: '3',
        DEPLOY_HEALTH_CHECK_INTERVAL_MS: '50',
        DEPLOY_HEALTH_CHECK_ATTEMPTS: '2',
        DEPLOY_LEASE_SECONDS: '2',
        DEPLOY_SWEEP_INTERVAL_MS: '300',
        DEPLOY_SCRIPT_TIMEOUT_MS: '10000',
        DEPLOY_WEBHOOK_TIMEOUT_MS: '2000',
      },
    });
    admin = await system.adminToken();
    [owner, devops, architect, developer, viewer, outsider] = await system.users(
      'product_manager',
      'devops',
      'architect',
      'developer',
      'viewer',
      'devops',
    );
    project = await system.project(
      {
        name: '部署',
        key: 'DEPL',
        ownerId: owner.id,
        members: [devops.id, architect.id, developer.id, viewer.id],
        visibility: 'private',
      },
      owner.token,
    );
  });
  afterAll(async () => {
    await system?.stop();
    await receiver.stop();
  });

  const as = (token: string) => system.as(token);
  const scriptApp = async (token = devops.token) => {
    const name = `app-${++appSeq}`;
    const res = await as(token)
      .post('/v2/applications', {
        projectId: project.id,
        name,
        target: { type: 'script', command: DEPLOY_SCRIPT },
      })
      .expect(201);
    return res.body as { id: string; name: string };
  };
  /** What the script printed, one object per step run, in the order they ran (from every deployment's step outputs). */
  const log = async (app: { id: string }) => {
    const list = (
      await as(devops.token).get(`/v2/deployments?applicationId=${app.id}&pageSize=100`).expect(200)
    ).body.data as Deployment[];
    return list
      .flatMap((d) => d.steps.map((s) => /^@@(\d+)\|(.*)$/m.exec(String(s.output ?? ''))))
      .filter((m): m is RegExpExecArray => m !== null)
      .sort((a, b) => (BigInt(a[1]) < BigInt(b[1]) ? -1 : 1))
      .map((m) => {
        const [appName, env, version, strategy, step, action, percent, colour, previous] = m[2].split('|');
        return { appName, env, version, strategy, step, action, percent, colour, previous };
      });
  };
  const deploy = async (body: Record<string, unknown>, token = devops.token): Promise<Deployment> => {
    const res = await as(token).post('/v2/deployments', body);
    if (res.status !== 202) throw new Error(`deploy: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body as Deployment;
  };
  const get = async (id: string, token = devops.token): Promise<Deployment> =>
    (await as(token).get(`/v2/deployments/${id}`).expect(200)).body as Deployment;
  const finished = (id: string, timeoutMs = 20000) =>
    system.settled<Deployment>(devops.token, `/v2/deployments/${id}`, DEPLOYMENT_DONE, timeoutMs);
  const stepSummary = (d: Deployment) => d.steps.map((s) => [s.name, s.status]);
  const live = async (appId: string, environment: string) =>
    (
      (await as(devops.token).get(`/v2/applications/${appId}`).expect(200)).body.environments as Array<{
        environment: string;
        liveVersion: string | null;
        liveColour: string | null;
        liveDeploymentId: string | null;
      }>
    ).find((e) => e.environment === environment);
  const succeeded = async (body: Record<string, unknown>) => {
    const d = await finished((await deploy(body)).deploymentId);
    expect(d.status).toBe('succeeded');
    return d;
  };

  describe('applications', () => {
    it('are defined by devops members with a script or webhook target; a webhook secret is shown once', async () => {
      const app = await scriptApp();
      expect(app).toEqual(
        expect.objectContaining({
          id: expect.stringMatching(/^app_[0-9a-z]{16}$/),
          projectId: project.id,
          target: { type: 'script', command: expect.stringContaining('DEPLOY_STEP_ATTEMPT') },
          environments: [],
          createdBy: devops.id,
        }),
      );
      const hook = await as(devops.token)
        .post('/v2/applications', {
          projectId: project.id,
          name: 'hooked',
          target: { type: 'webhook', url: receiver.url('/deploy-hooked') },
        })
        .expect(201);
      expect(hook.body.target).toEqual({
        type: 'webhook',
        url: receiver.url('/deploy-hooked'),
        secret: expect.stringMatching(/^whsec_/),
      });
      const got = await as(viewer.token).get(`/v2/applications/${hook.body.id}`).expect(200);
      expect(got.body.target).toEqual({ type: 'webhook', url: receiver.url('/deploy-hooked') });
      const listed = await as(viewer.token).get(`/v2/applications?projectId=${project.id}`).expect(200);
      expect(listed.body.data.map((a: { id: string }) => a.id)).toEqual(
        expect.arrayContaining([app.id, hook.body.id]),
      );
      expect(JSON.stringify(listed.body)).not.toContain(hook.body.target.secret);
      // Administrators define applications anywhere, member or not.
      await as(admin)
        .post('/v2/applications', {
          projectId: project.id,
          name: 'by-admin',
          target: { type: 'script', command: 'true' },
        })
        .expect(201);
    });

    it('refuses a duplicate name (409) and a bad target (422 naming the field)', async () => {
      const app = await scriptApp();
      const dup = await as(devops.token)
        .post('/v2/applications', {
          projectId: project.id,
          name: app.name,
          target: { type: 'script', command: 'true' },
        })
        .expect(409);
      expectEnvelope(dup.body, 'CONFLICT');
      const cases: Array<[unknown, string, string]> = [
        [{ type: 'ftp', url: 'x' }, 'target.type', 'invalid_enum'],
        [{ type: 'script' }, 'target.command', 'required'],
        [{ type: 'script', command: '   ' }, 'target.command', 'required'],
        [{ type: 'script', command: 'true', shell: 'bash' }, 'target.shell', 'unknown_field'],
        [{ type: 'webhook', url: 'ftp://example.com/x' }, 'target.url', 'invalid_format'],
        [{ type: 'webhook', url: receiver.url('/x'), secret: 'short' }, 'target.secret', 'invalid_format'],
        ['script', 'target', 'invalid_type'],
      ];
      for (const [target, field, code] of cases) {
        const res = await as(devops.token)
          .post('/v2/applications', { projectId: project.id, name: `bad-${field}`, target })
          .expect(422);
        expect(expectEnvelope(res.body, 'VALIDATION_ERROR').details.fields).toEqual([
          expect.objectContaining({ field, code }),
        ]);
      }
    });

    it('may be defined only by devops and admin members; outsiders do not see them', async () => {
      const body = { projectId: project.id, name: 'nope', target: { type: 'script', command: 'true' } };
      expectEnvelope(
        (await as(developer.token).post('/v2/applications', body).expect(403)).body,
        'FORBIDDEN',
      );
      expectEnvelope((await as(owner.token).post('/v2/applications', body).expect(403)).body, 'FORBIDDEN');
      expectEnvelope((await as(outsider.token).post('/v2/applications', body).expect(404)).body, 'NOT_FOUND');
      const app = await scriptApp();
      expectEnvelope(
        (await as(outsider.token).get(`/v2/applications/${app.id}`).expect(404)).body,
        'NOT_FOUND',
      );
      const list = await as(outsider.token).get('/v2/applications').expect(200);
      expect(list.body.data).toEqual([]);
    });
  });

  describe('strategies', () => {
    it('rolling: batches, every step recorded with timestamps, the DEPLOY_* variables in the script', async () => {
      const app = await scriptApp();
      const created = await as(devops.token)
        .post('/v2/deployments', {
          applicationId: app.id,
          environment: 'staging',
          version: 'v1.0.0',
          strategy: 'rolling',
        })
        .expect(202);
      expect(created.headers.location).toBe(`/v2/deployments/${created.body.deploymentId}`);
      expect(created.body).toEqual(
        expect.objectContaining({
          deploymentId: expect.stringMatching(/^dep_[0-9a-z]{16}$/),
          applicationId: app.id,
          projectId: project.id,
          environment: 'staging',
          version: 'v1.0.0',
          strategy: 'rolling',
          status: 'queued',
          requestedBy: devops.id,
          approvals: [],
        }),
      );
      const d = await finished(created.body.deploymentId);
      expect(d.status).toBe('succeeded');
      expect(d.progress).toBe(100);
      expect(d.steps.map((s) => [s.name, s.action, s.percent, s.status, s.attempts])).toEqual([
        ['batch-1', 'deploy', 33, 'succeeded', 1],
        ['batch-2', 'deploy', 67, 'succeeded', 1],
        ['batch-3', 'deploy', 100, 'succeeded', 1],
      ]);
      for (const step of d.steps) {
        expect(step).toEqual(
          expect.objectContaining({
            startedAt: expect.any(String),
            finishedAt: expect.any(String),
            duration: expect.any(Number),
            output: expect.stringMatching(new RegExp(`^@@\\d+\\|.*\\n(done ${step.name})\\n$`)),
            error: null,
          }),
        );
      }
      expect(Date.parse(d.steps[1].startedAt as string)).toBeGreaterThanOrEqual(
        Date.parse(d.steps[0].finishedAt as string),
      );
      expect(await log(app)).toEqual([
        {
          appName: app.name,
          env: 'staging',
          version: 'v1.0.0',
          strategy: 'rolling',
          step: 'batch-1',
          action: 'deploy',
          percent: '33',
          colour: '',
          previous: '',
        },
        expect.objectContaining({ step: 'batch-2', percent: '67' }),
        expect.objectContaining({ step: 'batch-3', percent: '100' }),
      ]);
      expect(await live(app.id, 'staging')).toEqual(
        expect.objectContaining({ liveVersion: 'v1.0.0', liveDeploymentId: d.deploymentId }),
      );
    });

    it('rolling: a failing batch stops the rollout, the rest is skipped and the previous version restored', async () => {
      const app = await scriptApp();
      await succeeded({ applicationId: app.id, environment: 'staging', version: 'v1.0.0' });
      const d = await finished(
        (await deploy({ applicationId: app.id, environment: 'staging', version: 'v2-fail-batch-2' }))
          .deploymentId,
      );
      expect(d.status).toBe('failed');
      expect(stepSummary(d)).toEqual([
        ['batch-1', 'succeeded'],
        ['batch-2', 'failed'],
        ['batch-3', 'skipped'],
        ['restore', 'succeeded'],
      ]);
      expect(d.steps[1]).toEqual(
        expect.objectContaining({
          error: 'exit code 1',
          output: expect.stringContaining('step batch-2 refused\n'),
        }),
      );
      expect(d.steps[3]).toEqual(
        expect.objectContaining({ action: 'restore', phase: 'restore', version: 'v1.0.0', percent: 100 }),
      );
      expect(d.failureReason).toBe('step batch-2 failed: exit code 1; restored v1.0.0');
      expect(d.previousVersion).toBe('v1.0.0');
      expect((await log(app)).slice(-3).map((l) => [l.step, l.version, l.previous])).toEqual([
        ['batch-1', 'v2-fail-batch-2', 'v1.0.0'],
        ['batch-2', 'v2-fail-batch-2', 'v1.0.0'],
        ['restore', 'v1.0.0', 'v1.0.0'],
      ]);
      expect((await live(app.id, 'staging'))?.liveVersion).toBe('v1.0.0');
    });

    it('blue-green: deploys the idle colour, checks it, switches; the live colour is remembered per environment', async () => {
      const app = await scriptApp();
      const first = await succeeded({
        applicationId: app.id,
        environment: 'staging',
        version: 'v1.0.0',
        strategy: 'blue-green',
      });
      expect(first.steps.map((s) => [s.name, s.action, s.colour, s.status])).toEqual([
        ['deploy-blue', 'deploy', 'blue', 'succeeded'],
        ['health-check-blue', 'health-check', 'blue', 'succeeded'],
        ['switch-to-blue', 'switch', 'blue', 'succeeded'],
      ]);
      expect(await live(app.id, 'staging')).toEqual(
        expect.objectContaining({ liveVersion: 'v1.0.0', liveColour: 'blue' }),
      );
      const second = await succeeded({
        applicationId: app.id,
        environment: 'staging',
        version: 'v2.0.0',
        strategy: 'blue-green',
      });
      expect(second.steps.map((s) => s.name)).toEqual([
        'deploy-green',
        'health-check-green',
        'switch-to-green',
      ]);
      expect(await live(app.id, 'staging')).toEqual(
        expect.objectContaining({ liveVersion: 'v2.0.0', liveColour: 'green' }),
      );
      // Another environment has its own colours.
      const dev = await succeeded({
        applicationId: app.id,
        environment: 'dev',
        version: 'v2.0.0',
        strategy: 'blue-green',
      });
      expect(dev.steps[0].name).toBe('deploy-blue');
      expect((await log(app)).slice(-3).map((l) => [l.env, l.step, l.action, l.percent, l.colour])).toEqual([
        ['dev', 'deploy-blue', 'deploy', '0', 'blue'],
        ['dev', 'health-check-blue', 'health-check', '0', 'blue'],
        ['dev', 'switch-to-blue', 'switch', '100', 'blue'],
      ]);
    });

    it('blue-green: a failed health check never switches; the live colour stays', async () => {
      const app = await scriptApp();
      await succeeded({
        applicationId: app.id,
        environment: 'staging',
        version: 'v1.0.0',
        strategy: 'blue-green',
      });
      const d = await finished(
        (
          await deploy({
            applicationId: app.id,
            environment: 'staging',
            version: 'v2-fail-health-check-green',
            strategy: 'blue-green',
          })
        ).deploymentId,
      );
      expect(d.status).toBe('failed');
      expect(stepSummary(d)).toEqual([
        ['deploy-green', 'succeeded'],
        ['health-check-green', 'failed'],
        ['switch-to-green', 'skipped'],
      ]);
      // Tried DEPLOY_HEALTH_CHECK_ATTEMPTS times.
      expect(d.steps[1]).toEqual(
        expect.objectContaining({ attempts: 2, error: 'failed 2 health checks: exit code 1' }),
      );
      expect(await live(app.id, 'staging')).toEqual(
        expect.objectContaining({ liveVersion: 'v1.0.0', liveColour: 'blue' }),
      );
    });

    it('canary: 10% -> 50% -> 100% with a health check between', async () => {
      const app = await scriptApp();
      const d = await succeeded({
        applicationId: app.id,
        environment: 'test',
        version: 'v1.0.0',
        strategy: 'canary',
      });
      expect(d.steps.map((s) => [s.name, s.action, s.percent, s.status])).toEqual([
        ['canary-10', 'deploy', 10, 'succeeded'],
        ['health-check-10', 'health-check', 10, 'succeeded'],
        ['canary-50', 'deploy', 50, 'succeeded'],
        ['health-check-50', 'health-check', 50, 'succeeded'],
        ['canary-100', 'deploy', 100, 'succeeded'],
      ]);
      expect((await log(app)).map((l) => `${l.step}:${l.percent}`)).toEqual([
        'canary-10:10',
        'health-check-10:10',
        'canary-50:50',
        'health-check-50:50',
        'canary-100:100',
      ]);
    });

    it('canary: a failed health check aborts the canary and restores the previous version', async () => {
      const app = await scriptApp();
      await succeeded({ applicationId: app.id, environment: 'test', version: 'v1.0.0', strategy: 'canary' });
      const d = await finished(
        (
          await deploy({
            applicationId: app.id,
            environment: 'test',
            version: 'v2-fail-health-check-50',
            strategy: 'canary',
          })
        ).deploymentId,
      );
      expect(d.status).toBe('failed');
      expect(stepSummary(d)).toEqual([
        ['canary-10', 'succeeded'],
        ['health-check-10', 'succeeded'],
        ['canary-50', 'succeeded'],
        ['health-check-50', 'failed'],
        ['canary-100', 'skipped'],
        ['restore', 'succeeded'],
      ]);
      expect(d.failureReason).toBe(
        'step health-check-50 failed: failed 2 health checks: exit code 1; restored v1.0.0',
      );
      expect((await log(app)).at(-1)).toEqual(
        expect.objectContaining({ step: 'restore', action: 'restore', version: 'v1.0.0', percent: '100' }),
      );
      expect((await log(app)).filter((l) => l.step === 'canary-100' && l.version.startsWith('v2'))).toEqual(
        [],
      );
      expect((await live(app.id, 'test'))?.liveVersion).toBe('v1.0.0');
    });
  });

  describe('approvals', () => {
    it('the seed’s request: prod with approvals waits in pending_approval and runs once every approver approved', async () => {
      const app = await scriptApp();
      const res = await as(devops.token)
        .post('/v2/deployments', {
          applicationId: app.id,
          environment: 'prod',
          version: 'v2.3.1',
          strategy: 'canary',
          approvals: [owner.id, architect.id],
        })
        .expect(202);
      expect(res.headers.location).toBe(`/v2/deployments/${res.body.deploymentId}`);
      expect(res.body).toEqual(
        expect.objectContaining({
          status: 'pending_approval',
          approvals: [
            { userId: owner.id, status: 'pending', comment: null, decidedAt: null },
            { userId: architect.id, status: 'pending', comment: null, decidedAt: null },
          ],
          steps: [],
          queuedAt: null,
        }),
      );
      const id = res.body.deploymentId;
      const partial = await as(owner.token)
        .post(`/v2/deployments/${id}/approve`, { comment: '变更窗口已确认' })
        .expect(200);
      expect(partial.body.status).toBe('pending_approval');
      expect(partial.body.approvals[0]).toEqual({
        userId: owner.id,
        status: 'approved',
        comment: '变更窗口已确认',
        decidedAt: expect.any(String),
      });
      await new Promise((r) => setTimeout(r, 500));
      expect((await get(id)).status).toBe('pending_approval');
      expect(await log(app)).toEqual([]);
      const all = await as(architect.token).post(`/v2/deployments/${id}/approve`, {}).expect(200);
      expect(all.body.status).toBe('queued');
      const d = await finished(id);
      expect(d.status).toBe('succeeded');
      expect((await log(app))[0]).toEqual(
        expect.objectContaining({ env: 'prod', version: 'v2.3.1', strategy: 'canary' }),
      );
    });

    it('prod without approvals is 422; approvers must be active users who may approve and see the project, never the requester', async () => {
      const app = await scriptApp();
      for (const approvals of [undefined, []]) {
        const res = await as(devops.token)
          .post('/v2/deployments', {
            applicationId: app.id,
            environment: 'prod',
            version: 'v1.0.0',
            approvals,
          })
          .expect(422);
        expect(expectEnvelope(res.body, 'VALIDATION_ERROR').details.fields).toEqual([
          expect.objectContaining({ field: 'approvals', code: 'required' }),
        ]);
      }
      const res = await as(devops.token)
        .post('/v2/deployments', {
          applicationId: app.id,
          environment: 'prod',
          version: 'v1.0.0',
          approvals: [devops.id, 'usr_nobody', viewer.id, outsider.id, owner.id],
        })
        .expect(422);
      expect(
        res.body.error.details.fields.map((f: { field: string; code: string }) => [f.field, f.code]),
      ).toEqual([
        ['approvals[0]', 'self_approval'],
        ['approvals[1]', 'unknown_user'],
        ['approvals[2]', 'cannot_approve'],
        ['approvals[3]', 'no_access'],
      ]);
      expect(
        (
          await system.sql(`SELECT count(*)::int AS n FROM deployments WHERE application_id = $1`, [app.id])
        )[0].n,
      ).toBe(0);
    });

    it('only named approvers decide, once; the requester never; a rejection with a reason ends it', async () => {
      const app = await scriptApp();
      const d = await deploy({
        applicationId: app.id,
        environment: 'prod',
        version: 'v1.0.0',
        approvals: [owner.id, architect.id],
      });
      const url = `/v2/deployments/${d.deploymentId}`;
      // A member who is not named, the requester, a viewer (read-only), someone who cannot see it.
      expectEnvelope((await as(developer.token).post(`${url}/approve`, {}).expect(403)).body, 'FORBIDDEN');
      expectEnvelope((await as(devops.token).post(`${url}/approve`, {}).expect(403)).body, 'FORBIDDEN');
      expectEnvelope((await as(viewer.token).post(`${url}/approve`, {}).expect(403)).body, 'FORBIDDEN');
      expectEnvelope((await as(outsider.token).post(`${url}/approve`, {}).expect(404)).body, 'NOT_FOUND');
      await as(owner.token).post(`${url}/approve`, {}).expect(200);
      expectEnvelope((await as(owner.token).post(`${url}/approve`, {}).expect(409)).body, 'CONFLICT');
      const noReason = await as(architect.token).post(`${url}/reject`, {}).expect(422);
      expect(noReason.body.error.details.fields).toEqual([
        expect.objectContaining({ field: 'reason', code: 'required' }),
      ]);
      const rejected = await as(architect.token)
        .post(`${url}/reject`, { reason: '发布窗口冲突' })
        .expect(200);
      expect(rejected.body).toEqual(
        expect.objectContaining({
          status: 'rejected',
          failureReason: `rejected by ${architect.id}: 发布窗口冲突`,
          finishedAt: expect.any(String),
        }),
      );
      expect(rejected.body.approvals[1]).toEqual(
        expect.objectContaining({ status: 'rejected', comment: '发布窗口冲突' }),
      );
      expectEnvelope(
        (await as(owner.token).post(`${url}/reject`, { reason: 'late' }).expect(409)).body,
        'CONFLICT',
      );
      await new Promise((r) => setTimeout(r, 500));
      expect((await get(d.deploymentId)).steps).toEqual([]);
      expect(await log(app)).toEqual([]);
    });

    it('approvals outside prod are honoured too', async () => {
      const app = await scriptApp();
      const d = await deploy({
        applicationId: app.id,
        environment: 'staging',
        version: 'v1.0.0',
        approvals: [developer.id],
      });
      expect(d.status).toBe('pending_approval');
      await as(developer.token).post(`/v2/deployments/${d.deploymentId}/approve`, {}).expect(200);
      expect((await finished(d.deploymentId)).status).toBe('succeeded');
    });
  });

  it('one deployment at a time per application and environment: the next waits in queued', async () => {
    const app = await scriptApp();
    const first = await deploy({ applicationId: app.id, environment: 'staging', version: 'v1-slow-batch-1' });
    await eventually(async () => (await get(first.deploymentId)).status === 'in_progress');
    const second = await deploy({ applicationId: app.id, environment: 'staging', version: 'v2.0.0' });
    const third = await deploy({ applicationId: app.id, environment: 'staging', version: 'v3.0.0' });
    const elsewhere = await deploy({ applicationId: app.id, environment: 'dev', version: 'v9.0.0' });
    await new Promise((r) => setTimeout(r, 300));
    expect((await get(second.deploymentId)).status).toBe('queued');
    expect((await get(third.deploymentId)).status).toBe('queued');
    // Another environment is not held up.
    expect((await finished(elsewhere.deploymentId)).status).toBe('succeeded');
    expect((await get(first.deploymentId)).status).toBe('in_progress');
    const [a, b, c] = [
      await finished(first.deploymentId),
      await finished(second.deploymentId),
      await finished(third.deploymentId),
    ];
    expect([a.status, b.status, c.status]).toEqual(['succeeded', 'succeeded', 'succeeded']);
    // In order, never overlapping.
    expect(Date.parse(b.startedAt as string)).toBeGreaterThanOrEqual(Date.parse(a.finishedAt as string));
    expect(Date.parse(c.startedAt as string)).toBeGreaterThanOrEqual(Date.parse(b.finishedAt as string));
    expect((await log(app)).filter((l) => l.env === 'staging').map((l) => l.version)).toEqual([
      ...Array(3).fill('v1-slow-batch-1'),
      ...Array(3).fill('v2.0.0'),
      ...Array(3).fill('v3.0.0'),
    ]);
    expect(b.previousVersion).toBe('v1-slow-batch-1');
  });

  describe('rollback', () => {
    it('the seed’s request: a new deployment of targetVersion; the current one becomes rolled_back', async () => {
      const app = await scriptApp();
      await succeeded({ applicationId: app.id, environment: 'staging', version: 'v2.3.0' });
      await succeeded({ applicationId: app.id, environment: 'staging', version: 'v2.3.0-hotfix' });
      const current = await succeeded({ applicationId: app.id, environment: 'staging', version: 'v2.3.1' });
      const res = await as(devops.token)
        .post(`/v2/deployments/${current.deploymentId}/rollback`, {
          targetVersion: 'v2.3.0',
          reason: '支付接口错误率升高',
        })
        .expect(202);
      expect(res.headers.location).toBe(`/v2/deployments/${res.body.deploymentId}`);
      expect(res.body).toEqual(
        expect.objectContaining({
          version: 'v2.3.0',
          environment: 'staging',
          strategy: 'rolling',
          status: 'queued',
          rollbackOf: current.deploymentId,
          rollbackReason: '支付接口错误率升高',
          requestedBy: devops.id,
        }),
      );
      expect(await get(current.deploymentId)).toEqual(
        expect.objectContaining({ status: 'rolled_back', rolledBackBy: res.body.deploymentId }),
      );
      const rollback = await finished(res.body.deploymentId);
      expect(rollback.status).toBe('succeeded');
      expect(rollback.previousVersion).toBe('v2.3.1');
      expect(await live(app.id, 'staging')).toEqual(
        expect.objectContaining({ liveVersion: 'v2.3.0', liveDeploymentId: rollback.deploymentId }),
      );
      // The project counts every deployment, rollbacks included.
      const stats = (await as(viewer.token).get(`/v2/projects/${project.id}`).expect(200)).body.stats;
      const [{ n }] = await system.sql<{ n: number }>(
        `SELECT count(*)::int AS n FROM deployments WHERE project_id = $1`,
        [project.id],
      );
      expect(stats.totalDeployments).toBe(n);
    });

    it('defaults to the last version that succeeded before the current one, skipping failures', async () => {
      const app = await scriptApp();
      await succeeded({ applicationId: app.id, environment: 'staging', version: 'v1.0.0' });
      const failed = await finished(
        (await deploy({ applicationId: app.id, environment: 'staging', version: 'v1.1-fail-batch-1' }))
          .deploymentId,
      );
      expect(failed.status).toBe('failed');
      const current = await succeeded({
        applicationId: app.id,
        environment: 'staging',
        version: 'v2.0.0',
        strategy: 'blue-green',
      });
      const res = await as(devops.token)
        .post(`/v2/deployments/${current.deploymentId}/rollback`, { reason: 'broken checkout' })
        .expect(202);
      expect(res.body).toEqual(
        expect.objectContaining({
          version: 'v1.0.0',
          strategy: 'blue-green',
          rollbackOf: current.deploymentId,
        }),
      );
      expect((await finished(res.body.deploymentId)).status).toBe('succeeded');
      // Nothing before v1.0.0: rolling the rollback back has nowhere to go.
      const again = await as(devops.token)
        .post(`/v2/deployments/${res.body.deploymentId}/rollback`, { reason: 'again' })
        .expect(409);
      expectEnvelope(again.body, 'CONFLICT');
    });

    it('refuses what cannot be rolled back: no reason, nothing earlier, not current, already rolled back, unknown version', async () => {
      const app = await scriptApp();
      const first = await succeeded({ applicationId: app.id, environment: 'staging', version: 'v1.0.0' });
      const rollback = (id: string, body: object) =>
        as(devops.token).post(`/v2/deployments/${id}/rollback`, body);
      const noReason = await rollback(first.deploymentId, {}).expect(422);
      expect(noReason.body.error.details.fields).toEqual([expect.objectContaining({ field: 'reason' })]);
      expectEnvelope((await rollback(first.deploymentId, { reason: 'x' }).expect(409)).body, 'CONFLICT');
      const second = await succeeded({ applicationId: app.id, environment: 'staging', version: 'v2.0.0' });
      const notCurrent = await rollback(first.deploymentId, { reason: 'x' }).expect(409);
      expect(notCurrent.body.error.details).toEqual({ currentDeploymentId: second.deploymentId });
      const unknown = await rollback(second.deploymentId, { reason: 'x', targetVersion: 'v0.9.0' }).expect(
        422,
      );
      expect(unknown.body.error.details.fields).toEqual([
        expect.objectContaining({ field: 'targetVersion', code: 'unknown_version' }),
      ]);
      await rollback(second.deploymentId, { reason: 'x' }).expect(202);
      expectEnvelope((await rollback(second.deploymentId, { reason: 'x' }).expect(409)).body, 'CONFLICT');
      expectEnvelope((await rollback('dep_missing', { reason: 'x' }).expect(404)).body, 'NOT_FOUND');
    });
  });

  describe('permissions', () => {
    it('devops members and administrators deploy and roll back; others read; outsiders see nothing', async () => {
      const app = await scriptApp();
      const body = { applicationId: app.id, environment: 'dev', version: 'v1.0.0' };
      for (const who of [owner, architect, developer, viewer])
        expectEnvelope((await as(who.token).post('/v2/deployments', body).expect(403)).body, 'FORBIDDEN');
      expectEnvelope((await as(outsider.token).post('/v2/deployments', body).expect(404)).body, 'NOT_FOUND');
      const byAdmin = await finished((await deploy(body, admin)).deploymentId);
      expect(byAdmin.status).toBe('succeeded');
      const current = await succeeded({ ...body, version: 'v2.0.0' });
      for (const who of [owner, developer])
        expectEnvelope(
          (
            await as(who.token)
              .post(`/v2/deployments/${current.deploymentId}/rollback`, { reason: 'x' })
              .expect(403)
          ).body,
          'FORBIDDEN',
        );
      expectEnvelope(
        (
          await as(outsider.token)
            .post(`/v2/deployments/${current.deploymentId}/rollback`, { reason: 'x' })
            .expect(404)
        ).body,
        'NOT_FOUND',
      );
      for (const who of [owner, architect, developer, viewer]) {
        await as(who.token).get(`/v2/deployments/${current.deploymentId}`).expect(200);
        const list = await as(who.token).get(`/v2/deployments?applicationId=${app.id}`).expect(200);
        expect(list.body.pagination.totalItems).toBe(2);
      }
      expectEnvelope(
        (await as(outsider.token).get(`/v2/deployments/${current.deploymentId}`).expect(404)).body,
        'NOT_FOUND',
      );
      const none = await as(outsider.token).get(`/v2/deployments?applicationId=${app.id}`).expect(200);
      expect(none.body.data).toEqual([]);
    });
  });

  it('lists with filters (applicationId, environment, status) and pagination', async () => {
    const app = await scriptApp();
    await succeeded({ applicationId: app.id, environment: 'dev', version: 'v1.0.0' });
    await finished(
      (await deploy({ applicationId: app.id, environment: 'dev', version: 'v2-fail-batch-3' })).deploymentId,
    );
    await succeeded({ applicationId: app.id, environment: 'test', version: 'v1.0.0' });
    const list = (query: string) =>
      as(viewer.token).get(`/v2/deployments?applicationId=${app.id}&${query}`).expect(200);
    expect((await list('')).body.pagination.totalItems).toBe(3);
    expect((await list('environment=dev')).body.data.map((d: Deployment) => d.version)).toEqual([
      'v2-fail-batch-3',
      'v1.0.0',
    ]);
    expect((await list('status=failed')).body.data.map((d: Deployment) => d.version)).toEqual([
      'v2-fail-batch-3',
    ]);
    expect((await list('environment=dev&sortOrder=asc')).body.data.map((d: Deployment) => d.version)).toEqual(
      ['v1.0.0', 'v2-fail-batch-3'],
    );
    const page = await list('pageSize=2&page=2');
    expect(page.body.data).toHaveLength(1);
    expect(page.body.pagination).toEqual({
      page: 2,
      pageSize: 2,
      totalItems: 3,
      totalPages: 2,
      hasNextPage: false,
      hasPrevPage: true,
    });
    const bad = await as(viewer.token).get('/v2/deployments?environment=qa&sortBy=version').expect(422);
    expect(bad.body.error.details.fields.map((f: { field: string }) => f.field).sort()).toEqual([
      'environment',
      'sortBy',
    ]);
    const invalid = await as(devops.token)
      .post('/v2/deployments', {
        applicationId: app.id,
        environment: 'qa',
        version: 'v 1; rm -rf /',
        strategy: 'big-bang',
      })
      .expect(422);
    expect(invalid.body.error.details.fields.map((f: { field: string }) => f.field).sort()).toEqual([
      'environment',
      'strategy',
      'version',
    ]);
    expectEnvelope(
      (
        await as(devops.token)
          .post('/v2/deployments', { applicationId: 'app_missing', environment: 'dev', version: 'v1' })
          .expect(404)
      ).body,
      'NOT_FOUND',
    );
  });

  it('replays a POST /deployments with the same Idempotency-Key, Location included, and deploys once', async () => {
    const app = await scriptApp();
    const send = () =>
      as(devops.token)
        .post('/v2/deployments', { applicationId: app.id, environment: 'dev', version: 'v1.0.0' })
        .set('Idempotency-Key', `deploy-${app.id}`)
        .expect(202);
    const first = await send();
    const second = await send();
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.headers.location).toBe(first.headers.location);
    expect(second.body.deploymentId).toBe(first.body.deploymentId);
    const [{ n }] = await system.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM deployments WHERE application_id = $1`,
      [app.id],
    );
    expect(n).toBe(1);
  });

  it('a webhook target gets every step as a signed POST; its 2xx decides; deployment events reach subscribers', async () => {
    await as(devops.token)
      .post('/v2/webhooks', {
        url: receiver.url('/events'),
        events: ['deployment.success', 'deployment.failed'],
        projectId: project.id,
      })
      .expect(201);
    const created = await as(devops.token)
      .post('/v2/applications', {
        projectId: project.id,
        name: 'webhook-app',
        target: { type: 'webhook', url: receiver.url('/deploy') },
      })
      .expect(201);
    const secret = created.body.target.secret as string;
    const d = await succeeded({
      applicationId: created.body.id,
      environment: 'staging',
      version: 'v1.0.0',
      strategy: 'canary',
    });
    const calls = receiver.at('/deploy');
    expect(calls.map((c) => c.headers['x-deploy-step'])).toEqual([
      'canary-10',
      'health-check-10',
      'canary-50',
      'health-check-50',
      'canary-100',
    ]);
    for (const call of calls) {
      expect(verify(secret, call)).toBe(true);
      // Receivers must be idempotent per step: the attempt is in a header and in the body.
      expect(call.headers['x-deploy-step-attempt']).toBe(String(JSON.parse(call.body).data.attempt));
    }
    expect(calls[0].headers['x-deploy-step-attempt']).toBe('1');
    const body = JSON.parse(calls[0].body);
    expect(body).toEqual({
      id: `${d.deploymentId}.canary-10.1`,
      type: 'deployment.step',
      createdAt: expect.any(String),
      data: {
        deploymentId: d.deploymentId,
        application: { id: created.body.id, name: 'webhook-app' },
        environment: 'staging',
        strategy: 'canary',
        step: { name: 'canary-10', action: 'deploy', percent: 10, colour: null, version: 'v1.0.0' },
        previousVersion: null,
        attempt: 1,
      },
    });
    expect(calls[0].headers['user-agent']).toMatch(/^OpenClaw-CoCode-Deployments\//);
    expect(d.steps[0].output).toBe('HTTP 200 ok');

    // The receiver refuses the 50% step: the canary fails and the previous version is restored.
    receiver.on('/deploy', (r) =>
      r.headers['x-deploy-step'] === 'canary-50' ? { status: 503, body: 'overloaded' } : { status: 200 },
    );
    const failed = await finished(
      (
        await deploy({
          applicationId: created.body.id,
          environment: 'staging',
          version: 'v2.0.0',
          strategy: 'canary',
        })
      ).deploymentId,
    );
    expect(failed.status).toBe('failed');
    expect(failed.steps[2]).toEqual(
      expect.objectContaining({
        name: 'canary-50',
        status: 'failed',
        error: 'HTTP 503',
        output: 'HTTP 503 overloaded',
      }),
    );
    expect(failed.steps.at(-1)).toEqual(
      expect.objectContaining({ name: 'restore', status: 'succeeded', version: 'v1.0.0' }),
    );

    const events = await eventually(async () => {
      const got = receiver.at('/events').map((r) => JSON.parse(r.body));
      return got.some((e) => e.data.deployment.deploymentId === failed.deploymentId) ? got : null;
    });
    expect(events.find((e) => e.data.deployment.deploymentId === d.deploymentId)).toEqual(
      expect.objectContaining({
        type: 'deployment.success',
        data: expect.objectContaining({
          application: { id: created.body.id, name: 'webhook-app' },
          deployment: expect.objectContaining({
            status: 'succeeded',
            version: 'v1.0.0',
            environment: 'staging',
          }),
        }),
      }),
    );
    expect(events.find((e) => e.data.deployment.deploymentId === failed.deploymentId)).toEqual(
      expect.objectContaining({
        type: 'deployment.failed',
        data: expect.objectContaining({
          deployment: expect.objectContaining({
            status: 'failed',
            failureReason: 'step canary-50 failed: HTTP 503; restored v1.0.0',
          }),
        }),
      }),
    );
  });

  describe('a worker killed in the middle of a deployment', () => {
    it('leaves it resumable: another worker takes the lapsed lease over and re-runs the step it died in', async () => {
      const app = await scriptApp();
      const d = await deploy({ applicationId: app.id, environment: 'staging', version: 'v1-hang-batch-2' });
      await eventually(async () => (await get(d.deploymentId)).currentStep === 'batch-2');
      await system.worker.kill('SIGKILL');
      expect((await get(d.deploymentId)).status).toBe('in_progress');
      await system.worker.start();
      const done = await finished(d.deploymentId, 30000);
      expect(done.status).toBe('succeeded');
      expect(done.steps.map((s) => [s.name, s.status, s.attempts])).toEqual([
        ['batch-1', 'succeeded', 1],
        ['batch-2', 'succeeded', 2],
        ['batch-3', 'succeeded', 1],
      ]);
      const [row] = await system.sql<{ runs: number; lease_token: string | null }>(
        `SELECT runs, lease_token FROM deployments WHERE id = $1`,
        [d.deploymentId],
      );
      expect(row).toEqual({ runs: 2, lease_token: null });
    });

    it('fails it, with the restore, once workers were lost too often: never stuck in_progress', async () => {
      const app = await scriptApp();
      await succeeded({ applicationId: app.id, environment: 'staging', version: 'v1.0.0' });
      const d = await deploy({ applicationId: app.id, environment: 'staging', version: 'v2-hang-batch-2' });
      await eventually(async () => (await get(d.deploymentId)).currentStep === 'batch-2');
      await system.worker.kill('SIGKILL');
      // As if DEPLOY_MAX_RESUMES (3) workers had died on it already.
      await system.sql(`UPDATE deployments SET runs = 4 WHERE id = $1`, [d.deploymentId]);
      await system.worker.start();
      const done = await finished(d.deploymentId, 30000);
      expect(done.status).toBe('failed');
      expect(stepSummary(done)).toEqual([
        ['batch-1', 'succeeded'],
        ['batch-2', 'failed'],
        ['batch-3', 'skipped'],
        ['restore', 'succeeded'],
      ]);
      expect(done.failureReason).toBe(
        'step batch-2 failed: the worker running it was lost 4 times; restored v1.0.0',
      );
    });

    it('hands running deployments back on a graceful shutdown, and they resume at once', async () => {
      const app = await scriptApp();
      const d = await deploy({ applicationId: app.id, environment: 'staging', version: 'v1-hang-batch-1' });
      await eventually(async () => (await get(d.deploymentId)).currentStep === 'batch-1');
      const stopping = Date.now();
      await system.worker.kill('SIGTERM');
      expect(Date.now() - stopping).toBeLessThan(3500);
      const [row] = await system.sql<{ expired: boolean }>(
        `SELECT locked_until < now() AS expired FROM deployments WHERE id = $1`,
        [d.deploymentId],
      );
      expect(row.expired).toBe(true);
      await system.worker.start();
      const done = await finished(d.deploymentId, 30000);
      expect(done.status).toBe('succeeded');
      expect(done.steps[0].attempts).toBe(2);
    });
  });
});

/** Verifies a call exactly as a Standard Webhooks receiver does. */
function verify(secret: string, r: Received): boolean {
  const id = r.headers['webhook-id'] as string;
  const timestamp = r.headers['webhook-timestamp'] as string;
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${r.body}`).digest();
  const [version, signature] = (r.headers['webhook-signature'] as string).split(',');
  return version === 'v1' && timingSafeEqual(Buffer.from(signature, 'base64'), expected);
}
