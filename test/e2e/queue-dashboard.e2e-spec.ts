import { QueueName } from '@app/core';
import { expectEnvelope, TestSystem } from '../support/system';

describe('queue dashboard at /admin/queues (administrators only)', () => {
  let system: TestSystem;
  let admin: string;
  let developer: { id: string; token: string };

  beforeAll(async () => {
    system = await TestSystem.start();
    admin = await system.adminToken();
    developer = await system.userWithRole('developer');
  });
  afterAll(async () => system?.stop());

  const cookieOf = (setCookie: string | string[] | undefined) =>
    (Array.isArray(setCookie) ? setCookie[0] : (setCookie ?? '')).split(';')[0];

  it('refuses without a token (401), with a bad one (401) and to a non-admin (403), in the envelope', async () => {
    const none = await system.http.get('/admin/queues').expect(401);
    expectEnvelope(none.body, 'UNAUTHORIZED');
    expect(none.headers['www-authenticate']).toContain('Bearer');
    const bad = await system.http.get('/admin/queues').set('Authorization', 'Bearer a.b.c').expect(401);
    expectEnvelope(bad.body, 'UNAUTHORIZED');
    const dev = await system.http.get('/admin/queues').auth(developer.token, { type: 'bearer' }).expect(403);
    expectEnvelope(dev.body, 'FORBIDDEN');
    expect(dev.body.error.details.required).toEqual(['queues:admin']);
    // The dashboard's API is guarded the same way, not only its page.
    await system.http.get('/admin/queues/api/queues').auth(developer.token, { type: 'bearer' }).expect(403);
    await system.http.get('/admin/queues/api/queues').expect(401);
  });

  it('serves the dashboard and every queue of the job catalogue to an admin', async () => {
    const page = await system.http.get('/admin/queues').auth(admin, { type: 'bearer' }).expect(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.text).toContain('CoCode queues');
    const api = await system.http.get('/admin/queues/api/queues').auth(admin, { type: 'bearer' }).expect(200);
    const names = (api.body.queues as Array<{ name: string }>).map((q) => q.name).sort();
    expect(names).toEqual(Object.values(QueueName).sort());
  });

  it('shows real jobs: a mail queued by creating a user appears in the mail queue', async () => {
    await system.userWithRole('viewer');
    const api = await system.http
      .get('/admin/queues/api/queues')
      .query({ activeQueue: QueueName.Mail, status: 'latest', page: 1, jobsPerPage: 50 })
      .auth(admin, { type: 'bearer' })
      .expect(200);
    const mail = (api.body.queues as Array<{ name: string; jobs: Array<{ name: string }> }>).find(
      (q) => q.name === QueueName.Mail,
    )!;
    expect(mail.jobs.map((j) => j.name)).toContain('mail.send');
  });

  it('sends a browser without a valid token to the sign-in form; a non-admin still gets 403', async () => {
    const html = 'text/html,application/xhtml+xml';
    const none = await system.http.get('/admin/queues').set('Accept', html).expect(303);
    expect(none.headers.location).toBe('/admin/queues/login');
    const stale = await system.http
      .get('/admin/queues')
      .set('Accept', html)
      .set('Cookie', 'cocode_queues=not.a.token')
      .expect(303);
    expect(stale.headers.location).toBe('/admin/queues/login');
    await system.http
      .get('/admin/queues')
      .set('Accept', html)
      .set('Cookie', `cocode_queues=${encodeURIComponent(developer.token)}`)
      .expect(403);
  });

  it('lets a browser sign in once: the token is checked, then kept in an HttpOnly cookie for this path', async () => {
    const login = await system.http.get('/admin/queues/login').expect(200);
    expect(login.text).toContain('action="/admin/queues/session"');

    const refused = await system.http
      .post('/admin/queues/session')
      .type('form')
      .send({ accessToken: developer.token })
      .expect(403);
    expect(refused.headers['set-cookie']).toBeUndefined();
    const empty = await system.http.post('/admin/queues/session').type('form').send({}).expect(422);
    expectEnvelope(empty.body, 'VALIDATION_ERROR');

    const session = await system.http
      .post('/admin/queues/session')
      .type('form')
      .send({ accessToken: admin })
      .expect(303);
    expect(session.headers.location).toBe('/admin/queues');
    const setCookie = String(session.headers['set-cookie']);
    expect(setCookie).toMatch(
      /^cocode_queues=[^;]+; Path=\/admin\/queues; Max-Age=\d+; HttpOnly; SameSite=Strict/,
    );
    const cookie = cookieOf(session.headers['set-cookie']);
    await system.http.get('/admin/queues').set('Cookie', cookie).expect(200);
    await system.http.get('/admin/queues/api/queues').set('Cookie', cookie).expect(200);
    // A cookie holding a non-admin's token is refused like the header.
    await system.http
      .get('/admin/queues')
      .set('Cookie', `cocode_queues=${encodeURIComponent(developer.token)}`)
      .expect(403);
  });

  it('stops honouring a signed-in browser as soon as its token is revoked', async () => {
    const own = await system.token({ grant_type: 'password', username: 'admin', password: 'AdminPass123' });
    const session = await system.http
      .post('/admin/queues/session')
      .type('form')
      .send({ accessToken: own })
      .expect(303);
    const cookie = cookieOf(session.headers['set-cookie']);
    await system.http.get('/admin/queues').set('Cookie', cookie).expect(200);
    await system.http.post('/v2/auth/revoke').auth(own, { type: 'bearer' }).send({ token: own }).expect(200);
    const after = await system.http.get('/admin/queues').set('Cookie', cookie).expect(401);
    expectEnvelope(after.body, 'UNAUTHORIZED');
  });
});
