import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Received, Receiver } from '../support/receiver';
import { eventually, expectEnvelope, TestSystem } from '../support/system';

type Session = { id: string; token: string };

/** Verifies a delivery exactly as a Standard Webhooks receiver does. */
function verifyStandardWebhook(secret: string, r: Received): boolean {
  const id = r.headers['webhook-id'] as string;
  const timestamp = r.headers['webhook-timestamp'] as string;
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${r.body}`).digest();
  return (r.headers['webhook-signature'] as string)
    .split(' ')
    .map((s) => s.split(','))
    .some(([v, sig]) => v === 'v1' && timingSafeEqual(Buffer.from(sig, 'base64'), expected));
}

/** ... and as a GitHub-style receiver does. */
function verifyHubSignature(secret: string, r: Received): boolean {
  const expected = `sha256=${createHmac('sha256', secret).update(r.body).digest('hex')}`;
  return timingSafeEqual(Buffer.from(r.headers['x-hub-signature-256'] as string), Buffer.from(expected));
}

describe('webhooks: signed delivery, retries, disabling, scope, log, redelivery, ping', () => {
  const receiver = new Receiver();
  let system: TestSystem;
  let admin: string;
  let owner: Session;
  let viewerMember: Session;
  let outsider: Session;
  let project: { id: string };
  let otherProject: { id: string };
  const secret = `whsec_${randomBytes(32).toString('base64')}`;

  beforeAll(async () => {
    await receiver.start();
    system = await TestSystem.start({
      env: {
        WEBHOOKS_ALLOW_PRIVATE: 'true',
        WEBHOOKS_RETRY_BASE_MS: '200',
        WEBHOOKS_TIMEOUT_MS: '1000',
        WEBHOOKS_MAX_ATTEMPTS: '4',
        WEBHOOKS_SWEEP_INTERVAL_MS: '500',
      },
    });
    admin = await system.adminToken();
    [owner, viewerMember, outsider] = await system.users('product_manager', 'viewer', 'developer');
    const mk = (key: string) =>
      system.project(
        { key, ownerId: owner.id, members: [viewerMember.id], visibility: 'internal' },
        owner.token,
      );
    project = await mk('HOOK');
    otherProject = await mk('ELSE');
  });
  afterAll(async () => {
    await system?.stop();
    await receiver.stop();
  });

  const as = (token: string) => system.as(token);
  let pathSeq = 0;
  const hook = async (body: Record<string, unknown>, token = owner.token) => {
    const path = `/hook-${++pathSeq}`;
    const res = await as(token)
      .post('/v2/webhooks', {
        url: receiver.url(path),
        events: ['task.updated'],
        projectId: project.id,
        ...body,
      })
      .expect(201);
    return { ...res.body, path } as { id: string; secret: string; path: string };
  };
  const newTask = (projectId = project.id) =>
    as(owner.token)
      .post(`/v2/projects/${projectId}/tasks`, { type: 'task', title: `t ${randomBytes(3).toString('hex')}` })
      .expect(201);

  it('delivers task.updated signed per Standard Webhooks and GitHub; a tampered body fails verification', async () => {
    const w = await hook({ secret });
    expect(w).not.toHaveProperty('secret', undefined);
    const task = (await newTask()).body;
    const [r] = await eventually(async () => (receiver.at(w.path).length ? receiver.at(w.path) : null));
    const body = JSON.parse(r.body);
    expect(Object.keys(body)).toEqual(['id', 'type', 'createdAt', 'data']);
    expect(body).toEqual(
      expect.objectContaining({ id: expect.stringMatching(/^evt_/), type: 'task.updated' }),
    );
    expect(body.data).toEqual(
      expect.objectContaining({
        action: 'created',
        task: expect.objectContaining({ id: task.id, key: task.key }),
      }),
    );
    expect(r.headers).toEqual(
      expect.objectContaining({
        'content-type': 'application/json',
        'webhook-id': body.id,
        'x-webhook-event': 'task.updated',
        'x-webhook-attempt': '1',
        'user-agent': expect.stringMatching(/^OpenClaw-CoCode-Webhooks\//),
      }),
    );
    expect(Math.abs(Number(r.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(30);
    expect(verifyStandardWebhook(secret, r)).toBe(true);
    expect(verifyHubSignature(secret, r)).toBe(true);
    const tampered = { ...r, body: r.body.replace(task.key, 'HOOK-999') };
    expect(verifyStandardWebhook(secret, tampered)).toBe(false);
    expect(verifyHubSignature(secret, tampered)).toBe(false);
    expect(verifyStandardWebhook(`whsec_${randomBytes(32).toString('base64')}`, r)).toBe(false);
  });

  it('generates a whsec_ secret when none is given, shows it once, and never again', async () => {
    const w = await hook({});
    expect(w.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const got = await as(owner.token).get(`/v2/webhooks/${w.id}`).expect(200);
    expect(got.body).not.toHaveProperty('secret');
    const listed = await as(owner.token).get('/v2/webhooks').expect(200);
    expect(JSON.stringify(listed.body)).not.toContain(w.secret);
    await newTask();
    const [r] = await eventually(async () => (receiver.at(w.path).length ? receiver.at(w.path) : null));
    expect(verifyStandardWebhook(w.secret, r)).toBe(true);
  });

  it('delivers project.created to a platform-wide webhook', async () => {
    const path = '/global-projects';
    await as(admin)
      .post('/v2/webhooks', { url: receiver.url(path), events: ['project.created'] })
      .expect(201);
    await as(owner.token).post('/v2/projects', { name: 'New', key: 'NEWP', ownerId: owner.id }).expect(201);
    const [r] = await eventually(async () => (receiver.at(path).length ? receiver.at(path) : null));
    expect(JSON.parse(r.body)).toEqual(
      expect.objectContaining({
        type: 'project.created',
        data: expect.objectContaining({ project: expect.objectContaining({ key: 'NEWP' }) }),
      }),
    );
  });

  it('keeps a project webhook to its project; a global one hears every project', async () => {
    const scoped = await hook({});
    const globalPath = '/global-tasks';
    await as(admin)
      .post('/v2/webhooks', { url: receiver.url(globalPath), events: ['task.updated'] })
      .expect(201);
    const other = (await newTask(otherProject.id)).body;
    await eventually(async () => receiver.at(globalPath).some((r) => r.body.includes(other.id)));
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.at(scoped.path).some((r) => r.body.includes(other.id))).toBe(false);
  });

  it('retries after 500s with backoff and records every attempt; the webhook-id stays the same', async () => {
    const w = await hook({});
    receiver.on(w.path, (_r, n) => (n <= 2 ? { status: 500, body: 'boom' } : { status: 200 }));
    await newTask();
    await eventually(async () => receiver.at(w.path).length === 3, 15000);
    const attempts = receiver.at(w.path);
    expect(new Set(attempts.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect(attempts.map((r) => r.headers['x-webhook-attempt'])).toEqual(['1', '2', '3']);
    expect(attempts[1].at - attempts[0].at).toBeGreaterThanOrEqual(150);
    const list = await as(owner.token).get(`/v2/webhooks/${w.id}/deliveries`).expect(200);
    const delivery = await eventually(async () => {
      const d = (await as(owner.token).get(`/v2/webhooks/${w.id}/deliveries/${list.body.data[0].id}`)).body;
      return d.status === 'succeeded' ? d : null;
    });
    expect(delivery.attempts).toBe(3);
    expect(delivery.attemptLog.map((a: { responseStatus: number }) => a.responseStatus)).toEqual([
      500, 500, 200,
    ]);
    expect(delivery.attemptLog[0]).toEqual(
      expect.objectContaining({
        responseExcerpt: 'boom',
        durationMs: expect.any(Number),
        requestHeaders: expect.objectContaining({ 'webhook-id': delivery.eventId }),
      }),
    );
    expect(JSON.stringify(delivery.attemptLog)).not.toContain(w.secret);
    expect(delivery.payload).toEqual(expect.objectContaining({ id: delivery.eventId, type: 'task.updated' }));
  });

  it('honours a receiver’s Retry-After', async () => {
    const w = await hook({});
    receiver.on(w.path, (_r, n) =>
      n === 1 ? { status: 503, headers: { 'Retry-After': '2' } } : { status: 200 },
    );
    await newTask();
    await eventually(async () => receiver.at(w.path).length === 2, 15000);
    const [a, b] = receiver.at(w.path);
    expect(b.at - a.at).toBeGreaterThanOrEqual(1900);
  });

  it('gives up a delivery after the last attempt and counts a timeout as a failure', async () => {
    const w = await hook({});
    receiver.on(w.path, () => ({ status: 200, delayMs: 2500 })); // longer than WEBHOOKS_TIMEOUT_MS
    await newTask();
    const list = await eventually(async () => {
      const l = (await as(owner.token).get(`/v2/webhooks/${w.id}/deliveries?status=failed`)).body;
      return l.data.length ? l : null;
    }, 20000);
    const d = (await as(owner.token).get(`/v2/webhooks/${w.id}/deliveries/${list.data[0].id}`).expect(200))
      .body;
    expect(d.attempts).toBe(4);
    expect(d.attemptLog.every((a: { error: string }) => /timed out/.test(a.error))).toBe(true);
    const webhook = (await as(owner.token).get(`/v2/webhooks/${w.id}`).expect(200)).body;
    expect(webhook.failingSince).not.toBeNull();
    expect(webhook.active).toBe(true);
  });

  it('disables a webhook at once on 410 Gone, says why, and tells the other subscribers', async () => {
    const watcherPath = '/watcher';
    await as(owner.token)
      .post('/v2/webhooks', {
        url: receiver.url(watcherPath),
        events: ['webhook.disabled'],
        projectId: project.id,
      })
      .expect(201);
    const w = await hook({});
    receiver.on(w.path, () => ({ status: 410 }));
    await newTask();
    const disabled = await eventually(async () => {
      const got = (await as(owner.token).get(`/v2/webhooks/${w.id}`)).body;
      return got.active === false ? got : null;
    });
    expect(disabled.disabledReason).toMatch(/410/);
    expect(receiver.at(w.path)).toHaveLength(1);
    const [note] = await eventually(async () =>
      receiver.at(watcherPath).length ? receiver.at(watcherPath) : null,
    );
    expect(JSON.parse(note.body)).toEqual(
      expect.objectContaining({
        type: 'webhook.disabled',
        data: expect.objectContaining({
          webhook: expect.objectContaining({ id: w.id }),
          reason: disabled.disabledReason,
        }),
      }),
    );
    await newTask();
    await new Promise((r) => setTimeout(r, 400));
    expect(receiver.at(w.path)).toHaveLength(1); // no more deliveries
    const reenabled = await as(owner.token).put(`/v2/webhooks/${w.id}`, { active: true }).expect(200);
    expect(reenabled.body).toEqual(expect.objectContaining({ active: true, disabledReason: null }));
  });

  it('redelivers with the same webhook-id (202 + Location) and pings on demand', async () => {
    const w = await hook({});
    await newTask();
    await eventually(async () => receiver.at(w.path).length === 1);
    const deliveries = (await as(owner.token).get(`/v2/webhooks/${w.id}/deliveries`).expect(200)).body.data;
    const res = await as(owner.token)
      .post(`/v2/webhooks/${w.id}/deliveries/${deliveries[0].id}/redeliver`)
      .expect(202);
    expect(res.headers.location).toBe(`/v2/webhooks/${w.id}/deliveries/${deliveries[0].id}`);
    await eventually(async () => receiver.at(w.path).length === 2);
    const [first, again] = receiver.at(w.path);
    expect(again.headers['webhook-id']).toBe(first.headers['webhook-id']);
    expect(again.body).toBe(first.body);

    const ping = await as(owner.token).post(`/v2/webhooks/${w.id}/ping`).expect(202);
    expect(ping.headers.location).toBe(`/v2/webhooks/${w.id}/deliveries/${ping.body.id}`);
    const pinged = await eventually(async () =>
      receiver.at(w.path).find((r) => JSON.parse(r.body).type === 'ping'),
    );
    expect(JSON.parse(pinged.body).data).toEqual(expect.objectContaining({ webhookId: w.id }));
    await eventually(
      async () => (await as(owner.token).get(ping.headers.location)).body.status === 'succeeded',
    );
  });

  it('delivers an event once per webhook even when its fan-out runs twice', async () => {
    const w = await hook({});
    const task = (await newTask()).body;
    await eventually(async () => receiver.at(w.path).length === 1);
    await system.sql(
      `UPDATE outbox_messages SET dispatched_at = NULL WHERE name = 'event.fanout' AND payload->'data'->'task'->>'id' = $1`,
      [task.id],
    );
    await eventually(async () => {
      const [r] = await system.sql<{ n: number }>(
        `SELECT count(*)::int AS n FROM outbox_messages WHERE name = 'event.fanout' AND dispatched_at IS NULL`,
      );
      return r.n === 0;
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.at(w.path)).toHaveLength(1);
  });

  it('does not let a slow receiver delay another', async () => {
    const slow = await hook({});
    const fast = await hook({});
    receiver.on(slow.path, () => ({ status: 200, delayMs: 900 }));
    const sent = Date.now();
    await newTask();
    await eventually(async () => receiver.at(fast.path).length === 1, 5000, 20);
    expect(receiver.at(fast.path)[0].at - sent).toBeLessThan(800);
  });

  it('takes a delivery over within its lease when the worker is killed mid-attempt', async () => {
    const w = await hook({});
    // The first attempt hangs (the worker is killed while it waits); the next is answered.
    receiver.on(w.path, (_r, n) => (n === 1 ? { status: 200, delayMs: 30000 } : { status: 200 }));
    await newTask();
    await eventually(async () => receiver.at(w.path).length === 1, 10000, 20);
    await system.worker.kill('SIGKILL');
    const killedAt = Date.now();
    await system.worker.start();
    // The lease is WEBHOOKS_TIMEOUT_MS (1 s here) + 5 s, the sweep runs every 0.5 s (and at start);
    // before, the lease was 31 s and BullMQ's stalled-job check took 1-2 min. Slack for a slow start.
    await eventually(async () => receiver.at(w.path).length === 2, 25000);
    const [first, second] = receiver.at(w.path);
    expect(second.at - killedAt).toBeLessThan(15000);
    expect(second.headers['webhook-id']).toBe(first.headers['webhook-id']);
    expect(second.headers['x-webhook-attempt']).toBe('2');
    const list = await as(owner.token).get(`/v2/webhooks/${w.id}/deliveries`).expect(200);
    const delivery = await eventually(async () => {
      const d = (await as(owner.token).get(`/v2/webhooks/${w.id}/deliveries/${list.body.data[0].id}`)).body;
      return d.status === 'succeeded' ? d : null;
    });
    expect(delivery.attempts).toBe(2);
    expect(delivery.attemptLog).toEqual([
      expect.objectContaining({ responseStatus: null, error: expect.stringMatching(/worker .* stopped/) }),
      expect.objectContaining({ responseStatus: 200 }),
    ]);
    // The killed job, retried later by BullMQ, finds the delivery done and sends nothing more.
    await new Promise((r) => setTimeout(r, 1000));
    expect(receiver.at(w.path)).toHaveLength(2);
  });

  describe('validation and permissions', () => {
    it.each([
      ['an unknown event', { events: ['task.exploded'] }, 'events'],
      ['no events', { events: [] }, 'events'],
      ['a non-http url', { url: 'ftp://example.com/x' }, 'url'],
      ['a short secret', { secret: 'short' }, 'secret'],
    ])('refuses %s with 422', async (_n, patch, field) => {
      const res = await as(owner.token)
        .post('/v2/webhooks', {
          url: receiver.url('/x'),
          events: ['task.updated'],
          projectId: project.id,
          ...patch,
        })
        .expect(422);
      expect(
        (expectEnvelope(res.body, 'VALIDATION_ERROR').details.fields as Array<{ field: string }>).map(
          (f) => f.field,
        ),
      ).toEqual([field]);
    });

    it('lets only administrators create platform-wide webhooks, and only writing members project ones', async () => {
      await as(owner.token)
        .post('/v2/webhooks', { url: receiver.url('/x'), events: ['task.updated'] })
        .expect(403);
      await as(outsider.token)
        .post('/v2/webhooks', { url: receiver.url('/x'), events: ['task.updated'], projectId: project.id })
        .expect(403);
      await as(viewerMember.token)
        .post('/v2/webhooks', { url: receiver.url('/x'), events: ['task.updated'], projectId: project.id })
        .expect(403);
    });

    it('hides a project’s webhooks from non-members (404) and lists members’ own', async () => {
      const w = await hook({});
      await as(outsider.token).get(`/v2/webhooks/${w.id}`).expect(404);
      await as(outsider.token).get(`/v2/webhooks/${w.id}/deliveries`).expect(404);
      await as(outsider.token).delete(`/v2/webhooks/${w.id}`).expect(404);
      const mine = await as(viewerMember.token).get('/v2/webhooks?pageSize=100').expect(200);
      expect(mine.body.data.map((x: { id: string }) => x.id)).toContain(w.id);
      await as(viewerMember.token).put(`/v2/webhooks/${w.id}`, { description: 'x' }).expect(403);
      const none = await as(outsider.token).get('/v2/webhooks').expect(200);
      expect(none.body.data).toEqual([]);
      await as(owner.token).delete(`/v2/webhooks/${w.id}`).expect(204);
      await as(owner.token).get(`/v2/webhooks/${w.id}`).expect(404);
    });

    it('lists the subscribable events', async () => {
      const res = await as(viewerMember.token).get('/v2/webhooks/events').expect(200);
      expect(res.body.data).toEqual(
        expect.arrayContaining([
          'project.created',
          'task.updated',
          'agent.completed',
          'build.started',
          'build.completed',
          'deployment.success',
          'deployment.failed',
          'test.failed',
        ]),
      );
    });
  });
});

describe('webhooks failing for days are disabled', () => {
  const receiver = new Receiver();
  let system: TestSystem;
  beforeAll(async () => {
    await receiver.start();
    system = await TestSystem.start({
      env: {
        WEBHOOKS_ALLOW_PRIVATE: 'true',
        WEBHOOKS_RETRY_BASE_MS: '300',
        WEBHOOKS_DISABLE_AFTER_SECONDS: '1',
        WEBHOOKS_MAX_ATTEMPTS: '10',
      },
    });
  });
  afterAll(async () => {
    await system?.stop();
    await receiver.stop();
  });

  it('switches off a webhook whose deliveries fail for longer than the limit, saying why', async () => {
    const admin = await system.adminToken();
    receiver.on('/down', () => ({ status: 502 }));
    const w = (
      await system.http
        .post('/v2/webhooks')
        .auth(admin, { type: 'bearer' })
        .send({ url: receiver.url('/down'), events: ['project.created'] })
        .expect(201)
    ).body;
    await system.http
      .post('/v2/projects')
      .auth(admin, { type: 'bearer' })
      .send({
        name: 'x',
        key: 'DOWN',
        ownerId: (await system.http.get('/v2/auth/me').auth(admin, { type: 'bearer' })).body.userId,
      })
      .expect(201);
    const got = await eventually(async () => {
      const b = (await system.http.get(`/v2/webhooks/${w.id}`).auth(admin, { type: 'bearer' })).body;
      return b.active === false ? b : null;
    }, 15000);
    expect(got.disabledReason).toMatch(/without a success/);
    expect(receiver.at('/down').length).toBeGreaterThanOrEqual(2);
  });
});

describe('webhook SSRF defence (private targets not allowed)', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await TestSystem.start({ worker: false });
  });
  afterAll(() => system?.stop());

  it.each([
    ['loopback', 'http://127.0.0.1:8080/hook'],
    ['a private 10.x address', 'http://10.1.2.3/hook'],
    ['cloud metadata', 'http://169.254.169.254/latest/meta-data'],
    ['IPv6 loopback', 'http://[::1]:8080/hook'],
    ['a hostname resolving to loopback', 'http://localhost:8080/hook'],
    ['a private 192.168 address', 'https://192.168.1.10/hook'],
    ['an IPv4-mapped IPv6 loopback', 'http://[::ffff:127.0.0.1]/hook'],
    ['an IPv4-compatible IPv6 loopback', 'http://[::127.0.0.1]/'],
    ['an IPv4-compatible IPv6 metadata address', 'http://[::a9fe:a9fe]/latest/meta-data'],
    ['a NAT64 loopback', 'http://[64:ff9b::127.0.0.1]/hook'],
    ['a 6to4 private address', 'http://[2002:c0a8:101::1]/hook'],
  ])('refuses %s with 422', async (_name, url) => {
    const res = await system.http
      .post('/v2/webhooks')
      .auth(await system.adminToken(), { type: 'bearer' })
      .send({ url, events: ['task.updated'] })
      .expect(422);
    const fields = expectEnvelope(res.body, 'VALIDATION_ERROR').details.fields as Array<{
      field: string;
      code: string;
    }>;
    expect(fields).toEqual([expect.objectContaining({ field: 'url', code: 'unsafe_target' })]);
    expect(await system.sql(`SELECT id FROM webhooks`)).toHaveLength(0);
  });
});
