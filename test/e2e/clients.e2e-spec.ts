import { eventually, expectEnvelope, TestSystem } from '../support/system';

describe('API clients: create, list, rotate, delete, act as their owner', () => {
  let system: TestSystem;
  let admin: string;

  beforeAll(async () => {
    system = await TestSystem.start({ worker: false });
    admin = await system.adminToken();
  });
  afterAll(() => system?.stop());

  const grant = (clientId: string, secret: string, extra: object = {}) =>
    system.http
      .post('/v2/auth/token')
      .send({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret, ...extra });

  it('creates a client whose secret is shown once and stored hashed, acting as its owner', async () => {
    const dev = await system.userWithRole('developer');
    const created = await system.http
      .post('/v2/auth/clients')
      .auth(dev.token, { type: 'bearer' })
      .send({ name: 'ci-bot' })
      .expect(201);
    expect(created.body).toEqual(
      expect.objectContaining({
        id: expect.stringMatching(/^cli_/),
        client_id: created.body.id,
        name: 'ci-bot',
        ownerId: dev.id,
        scopes: ['read', 'write'],
      }),
    );
    expect(typeof created.body.client_secret).toBe('string');
    const stored = await system.sql<{ secret_hash: string }>(
      `SELECT secret_hash FROM api_clients WHERE id = $1`,
      [created.body.id],
    );
    expect(stored[0].secret_hash).not.toContain(created.body.client_secret);

    const token = await grant(created.body.id, created.body.client_secret).expect(200);
    expect(token.body.scope).toBe('read write');
    const me = await system.http
      .get('/v2/auth/me')
      .auth(token.body.access_token, { type: 'bearer' })
      .expect(200);
    expect(me.body).toEqual(
      expect.objectContaining({ userId: dev.id, role: 'developer', clientId: created.body.id }),
    );

    const list = await system.http.get('/v2/auth/clients').auth(dev.token, { type: 'bearer' }).expect(200);
    expect(list.body.data.map((c: { id: string }) => c.id)).toEqual([created.body.id]);
    expect(list.body.data[0]).not.toHaveProperty('client_secret');
  });

  it('limits a client to the scopes it was given and to what its owner’s role allows', async () => {
    const dev = await system.userWithRole('developer');
    const tooMuch = await system.http
      .post('/v2/auth/clients')
      .auth(dev.token, { type: 'bearer' })
      .send({ name: 'x', scopes: ['admin'] });
    expect(tooMuch.status).toBe(422);
    expectEnvelope(tooMuch.body, 'VALIDATION_ERROR');
    const readOnly = await system.http
      .post('/v2/auth/clients')
      .auth(dev.token, { type: 'bearer' })
      .send({ name: 'reader', scopes: ['read'] })
      .expect(201);
    const token = await grant(readOnly.body.id, readOnly.body.client_secret).expect(200);
    expect(token.body.scope).toBe('read');
    const refused = await grant(readOnly.body.id, readOnly.body.client_secret, { scope: 'write' });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details.oauthError).toBe('invalid_scope');
  });

  it('rotates the secret: the old one stops working, the new one works', async () => {
    const created = await system.http
      .post('/v2/auth/clients')
      .auth(admin, { type: 'bearer' })
      .send({ name: 'rotating' })
      .expect(201);
    const rotated = await system.http
      .post(`/v2/auth/clients/${created.body.id}/rotate-secret`)
      .auth(admin, { type: 'bearer' })
      .expect(200);
    expect(rotated.body.client_secret).not.toBe(created.body.client_secret);
    await grant(created.body.id, created.body.client_secret).expect(401);
    await grant(created.body.id, rotated.body.client_secret).expect(200);
  });

  it('deletes a client: its tokens stop working at once', async () => {
    const created = await system.http
      .post('/v2/auth/clients')
      .auth(admin, { type: 'bearer' })
      .send({ name: 'doomed' })
      .expect(201);
    const token = (await grant(created.body.id, created.body.client_secret).expect(200)).body;
    await system.http.get('/v2/auth/me').auth(token.access_token, { type: 'bearer' }).expect(200);
    await system.http
      .delete(`/v2/auth/clients/${created.body.id}`)
      .auth(admin, { type: 'bearer' })
      .expect(204);
    await eventually(
      async () =>
        (await system.http.get('/v2/auth/me').auth(token.access_token, { type: 'bearer' })).status === 401,
      1000,
      20,
    );
    await system.http.post('/v2/auth/refresh').send({ refresh_token: token.refresh_token }).expect(400);
    await grant(created.body.id, created.body.client_secret).expect(401);
  });

  it('hides other users’ clients (404) unless the caller is an administrator', async () => {
    const owner = await system.userWithRole('architect');
    const stranger = await system.userWithRole('architect');
    const created = await system.http
      .post('/v2/auth/clients')
      .auth(owner.token, { type: 'bearer' })
      .send({ name: 'mine' })
      .expect(201);
    await system.http
      .delete(`/v2/auth/clients/${created.body.id}`)
      .auth(stranger.token, { type: 'bearer' })
      .expect(404);
    await system.http
      .post(`/v2/auth/clients/${created.body.id}/rotate-secret`)
      .auth(stranger.token, { type: 'bearer' })
      .expect(404);
    await system.http
      .get(`/v2/auth/clients?ownerId=${owner.id}`)
      .auth(stranger.token, { type: 'bearer' })
      .expect(403);
    const adminView = await system.http
      .get(`/v2/auth/clients?ownerId=${owner.id}`)
      .auth(admin, { type: 'bearer' })
      .expect(200);
    expect(adminView.body.data.map((c: { id: string }) => c.id)).toEqual([created.body.id]);
    await system.http
      .delete(`/v2/auth/clients/${created.body.id}`)
      .auth(admin, { type: 'bearer' })
      .expect(204);
  });

  it('stops a client when its owner is suspended', async () => {
    const owner = await system.userWithRole('devops');
    const created = await system.http
      .post('/v2/auth/clients')
      .auth(owner.token, { type: 'bearer' })
      .send({ name: 'bot' })
      .expect(201);
    await system.http
      .put(`/v2/users/${owner.id}`)
      .auth(admin, { type: 'bearer' })
      .send({ status: 'suspended' })
      .expect(200);
    const res = await grant(created.body.id, created.body.client_secret);
    expect(res.status).toBe(400);
    expect(res.body.error.details.oauthError).toBe('invalid_grant');
  });
});
