import { randomBytes } from 'node:crypto';
import { sign } from 'jsonwebtoken';
import { expectEnvelope, JWT_SECRET, TestSystem } from '../support/system';

/**
 * Input no handler should ever see: strings PostgreSQL cannot hold, null where a column is not
 * nullable, documents too deep to walk, absurd token claims, unknown parameters. Each gets a 4xx
 * in the seed's envelope and writes nothing; none is a 500.
 */
describe('bad input: 4xx in the envelope, never 500, nothing half-written', () => {
  let system: TestSystem;
  let admin: string;
  let adminId: string;
  let project: { id: string; key: string };

  beforeAll(async () => {
    system = await TestSystem.start({ worker: false });
    admin = await system.adminToken();
    adminId = (await system.http.get('/v2/auth/me').auth(admin, { type: 'bearer' })).body.userId;
    project = (
      await system.http
        .post('/v2/projects')
        .auth(admin, { type: 'bearer' })
        .send({ name: 'Bad input', key: 'BAD', ownerId: adminId, visibility: 'private' })
        .expect(201)
    ).body;
  });
  afterAll(() => system?.stop());

  const raw = (method: 'post' | 'put' | 'delete', url: string, text: string) =>
    system.http[method](url)
      .auth(admin, { type: 'bearer' })
      .set('Content-Type', 'application/json')
      .send(text);
  const fieldsOf = (body: unknown) =>
    (expectEnvelope(body, 'VALIDATION_ERROR').details.fields as Array<{ field: string; code: string }>).map(
      (f) => f.field,
    );
  const taskCount = async () =>
    Number((await system.sql<{ n: string }>('SELECT count(*) AS n FROM tasks'))[0].n);

  describe('NUL bytes and lone surrogates', () => {
    it('answers 404 for a path id holding a NUL byte', async () => {
      const res = await system.http.get('/v2/projects/prj_%00').auth(admin, { type: 'bearer' });
      expect(res.status).toBe(404);
      expectEnvelope(res.body, 'NOT_FOUND');
    });

    it('answers 404 in the envelope for a path id too long to be one, 400 for a broken encoding', async () => {
      const long = await system.http.get(`/v2/projects/${'a'.repeat(2000)}`).auth(admin, { type: 'bearer' });
      expect(long.status).toBe(404);
      expectEnvelope(long.body, 'NOT_FOUND');
      const broken = await system.http.get('/v2/projects/prj_%E0%A4%A').auth(admin, { type: 'bearer' });
      expect(broken.status).toBe(400);
      expectEnvelope(broken.body, 'INVALID_REQUEST');
    });

    it('answers 422 for a NUL byte in a query parameter', async () => {
      const res = await system.http.get('/v2/projects?search=%00').auth(admin, { type: 'bearer' });
      expect(res.status).toBe(422);
      expect(fieldsOf(res.body)).toEqual(['search']);
    });

    it('answers 422 naming the field for a NUL byte in a body string, and writes no task', async () => {
      const before = await taskCount();
      const res = await raw(
        'post',
        `/v2/projects/${project.id}/tasks`,
        '{"type":"task","title":"a\\u0000b"}',
      );
      expect(res.status).toBe(422);
      expect(fieldsOf(res.body)).toEqual(['title']);
      expect(await taskCount()).toBe(before);
    });

    it('answers 422 for a lone surrogate in an email', async () => {
      const res = await raw(
        'post',
        '/v2/users',
        '{"username":"surrogate","email":"a\\ud800@example.com","password":"Passw0rd123","fullName":"S","role":"developer"}',
      );
      expect(res.status).toBe(422);
      expect(fieldsOf(res.body)).toEqual(['email']);
      expect(await system.sql(`SELECT 1 FROM users WHERE username = 'surrogate'`)).toEqual([]);
    });
  });

  describe('null', () => {
    it.each([
      ['project name', () => `/v2/projects/${project.id}`, { name: null }, 'name'],
      ['user email', () => `/v2/users/${adminId}`, { email: null }, 'email'],
      ['project visibility', () => `/v2/projects/${project.id}`, { visibility: null }, 'visibility'],
    ])('refuses null for the %s (422 naming it)', async (_, url, body, field) => {
      const res = await system.http.put(url()).auth(admin, { type: 'bearer' }).send(body);
      expect(res.status).toBe(422);
      expect(fieldsOf(res.body)).toEqual([field]);
    });

    it('refuses null stages on a pipeline', async () => {
      const pipeline = await system.http
        .post('/v2/pipelines')
        .auth(admin, { type: 'bearer' })
        .send({
          projectId: project.id,
          name: 'p',
          repositoryUrl: 'https://example.com/r.git',
          stages: [{ name: 'build', commands: ['true'] }],
        })
        .expect(201);
      const res = await system.http
        .put(`/v2/pipelines/${pipeline.body.id}`)
        .auth(admin, { type: 'bearer' })
        .send({ stages: null });
      expect(res.status).toBe(422);
      expect(fieldsOf(res.body)).toEqual(['stages']);
    });

    it('refuses null for an optional field whose column is not nullable (task priority)', async () => {
      const before = await taskCount();
      const res = await system.http
        .post(`/v2/projects/${project.id}/tasks`)
        .auth(admin, { type: 'bearer' })
        .send({ type: 'task', title: 't', priority: null });
      expect(res.status).toBe(422);
      expect(fieldsOf(res.body)).toEqual(['priority']);
      expect(await taskCount()).toBe(before);
    });

    it('takes null as "clear" where the field is documented nullable (project description)', async () => {
      await system.http
        .put(`/v2/projects/${project.id}`)
        .auth(admin, { type: 'bearer' })
        .send({ description: 'something' })
        .expect(200);
      const res = await system.http
        .put(`/v2/projects/${project.id}`)
        .auth(admin, { type: 'bearer' })
        .send({ description: null })
        .expect(200);
      expect(res.body.description).toBeNull();
    });

    it('takes null as "clear" for a user\'s department and avatar', async () => {
      await system.http
        .put(`/v2/users/${adminId}`)
        .auth(admin, { type: 'bearer' })
        .send({ department: 'R&D', avatar: 'https://example.com/a.png' })
        .expect(200);
      const res = await system.http
        .put(`/v2/users/${adminId}`)
        .auth(admin, { type: 'bearer' })
        .send({ department: null, avatar: null })
        .expect(200);
      expect(res.body).toMatchObject({ department: null, avatar: null });
    });

    it('refuses a body that is JSON null, an array or a string (422)', async () => {
      for (const text of ['null', '[]', '"x"', '1']) {
        const res = await raw('put', `/v2/projects/${project.id}`, text);
        expect(res.status).toBe(422);
        expect(fieldsOf(res.body)).toEqual(['body']);
      }
    });

    it('refuses a duplicate key whose last value is null', async () => {
      const res = await raw('put', `/v2/projects/${project.id}`, '{"name":"x","name":null}');
      expect(res.status).toBe(422);
      expect(fieldsOf(res.body)).toEqual(['name']);
    });
  });

  it('refuses story points in exponent form with 422, not a TypeError (found by the fuzz suite)', async () => {
    const task = await system.http
      .post(`/v2/projects/${project.id}/tasks`)
      .auth(admin, { type: 'bearer' })
      .send({ type: 'task', title: 'points' })
      .expect(201);
    for (const storyPoints of [1e-323, 1e-7]) {
      const res = await system.http
        .put(`/v2/tasks/${task.body.id}`)
        .auth(admin, { type: 'bearer' })
        .send({ storyPoints });
      expect(res.status).toBe(422);
      expect(fieldsOf(res.body)).toEqual(['storyPoints']);
    }
    await system.http
      .put(`/v2/tasks/${task.body.id}`)
      .auth(admin, { type: 'bearer' })
      .send({ storyPoints: 2.5 })
      .expect(200);
  });

  it('refuses a JSON document nested 3,000 levels deep with 400 before validation', async () => {
    const res = await raw('post', '/v2/projects', '{"name":' + '['.repeat(3000) + ']'.repeat(3000) + '}');
    expect(res.status).toBe(400);
    expect(expectEnvelope(res.body, 'INVALID_REQUEST').details).toEqual({ reason: 'too_deep', maxDepth: 32 });
  });

  it('answers 401 to a validly signed token that expires in the year 3e12', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = sign(
      {
        sub: adminId,
        role: 'admin',
        scope: 'read write admin',
        jti: randomBytes(6).toString('hex'),
        iss: 'openclaw-cocode',
        aud: 'cocode-api',
        iat: now,
        exp: 1e20,
      },
      JWT_SECRET,
      { algorithm: 'HS256', noTimestamp: true },
    );
    const res = await system.http.get('/v2/auth/me').auth(token, { type: 'bearer' });
    expect(res.status).toBe(401);
    expect(expectEnvelope(res.body, 'UNAUTHORIZED').message).toMatch(/expiry is out of range/);
  });

  it('refuses parallel: true where a number is expected (422)', async () => {
    const suite = await system.http
      .post('/v2/tests/suites')
      .auth(admin, { type: 'bearer' })
      .send({
        projectId: project.id,
        name: 's',
        repositoryUrl: 'https://example.com/r.git',
        command: 'true',
        reportPath: 'r.xml',
      })
      .expect(201);
    const res = await system.http
      .post(`/v2/tests/suites/${suite.body.id}/run`)
      .auth(admin, { type: 'bearer' })
      .send({ parallel: true });
    expect(res.status).toBe(422);
    expect(fieldsOf(res.body)).toEqual(['parallel']);
    expect(await system.sql('SELECT 1 FROM test_runs')).toEqual([]);
  });

  it('refuses an undocumented query parameter (422 unknown_field), after authentication', async () => {
    const res = await system.http
      .get(`/v2/projects/${project.id}?expand=all`)
      .auth(admin, { type: 'bearer' });
    expect(res.status).toBe(422);
    expect(expectEnvelope(res.body, 'VALIDATION_ERROR').details.fields).toEqual([
      { field: 'expand', message: 'expand is not an accepted query parameter', code: 'unknown_field' },
    ]);
    await system.http.get(`/v2/projects/${project.id}?expand=all`).expect(401);
    // A caller the route refuses hears 403 first, whatever the query says.
    const viewer = await system.userWithRole('viewer');
    const refused = await system.http.get('/v2/audit-logs?expand=all').auth(viewer.token, { type: 'bearer' });
    expect(refused.status).toBe(403);
  });

  describe('an empty body with Content-Type: application/json is no body', () => {
    it('on a body-less POST (cancel)', async () => {
      const res = await raw('post', '/v2/builds/build_nothing000000000/cancel', '');
      expect(res.status).toBe(404);
      expectEnvelope(res.body, 'NOT_FOUND');
    });

    it('on DELETE', async () => {
      const res = await raw('delete', '/v2/projects/prj_nothing000000000', '');
      expect(res.status).toBe(404);
      expectEnvelope(res.body, 'NOT_FOUND');
    });

    it('on a POST whose DTO has required fields: 422 naming them, not 400', async () => {
      const res = await raw('post', '/v2/projects', '');
      expect(res.status).toBe(422);
      expect(fieldsOf(res.body)).toEqual(expect.arrayContaining(['name', 'key']));
    });
  });
});
