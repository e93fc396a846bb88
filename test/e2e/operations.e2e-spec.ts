import { expectEnvelope, METRICS_TOKEN, TestSystem } from '../support/system';
import { PG_BASE } from '../support/env';
import { proxyFor } from '../support/tcp-proxy';

describe('operations: health, request ids, error envelope, backing services down', () => {
  const { proxy: pgProxy, via } = proxyFor(PG_BASE, 5432);
  let system: TestSystem;

  beforeAll(async () => {
    await pgProxy.start();
    system = await TestSystem.start({
      databaseUrl: (db) => `${via()}/${db}`,
    });
  });
  afterAll(async () => {
    await system?.stop();
    await pgProxy.cut();
  });

  it('answers liveness and readiness on the gateway and the worker', async () => {
    const live = await system.http.get('/health/live').expect(200);
    expect(live.body.status).toBe('ok');
    const ready = await system.http.get('/health/ready').expect(200);
    expect(ready.body.details).toEqual({ database: { status: 'up' }, redis: { status: 'up' } });
    const worker = await fetch(`${system.worker.url}/health/ready`);
    expect(worker.status).toBe(200);
  });

  it('serves Prometheus metrics outside /v2, to the holder of METRICS_TOKEN only', async () => {
    const res = await system.http.get('/metrics').auth(METRICS_TOKEN, { type: 'bearer' }).expect(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.text).toContain('http_request_duration_seconds');
    const anonymous = await system.http.get('/metrics');
    expect(anonymous.status).toBe(401);
    expect(expectEnvelope(anonymous.body, 'UNAUTHORIZED').message).toMatch(/METRICS_TOKEN/);
    expect(anonymous.text).not.toContain('http_request_duration_seconds');
    const wrong = await system.http.get('/metrics').auth(`${METRICS_TOKEN}x`, { type: 'bearer' });
    expect(wrong.status).toBe(401);
    // The worker's port too.
    expect((await fetch(`${system.worker.url}/metrics`)).status).toBe(401);
    const worker = await fetch(`${system.worker.url}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(worker.status).toBe(200);
    expect(await worker.text()).toContain('process_cpu_seconds_total');
  });

  it('keeps /metrics closed without METRICS_TOKEN outside development', async () => {
    const closed = await TestSystem.start({ env: { METRICS_TOKEN: '' } });
    try {
      const res = await closed.http.get('/metrics').auth(METRICS_TOKEN, { type: 'bearer' });
      expect(res.status).toBe(403);
      expectEnvelope(res.body, 'FORBIDDEN');
      expect((await fetch(`${closed.worker.url}/metrics`)).status).toBe(403);
    } finally {
      await closed.stop();
    }
  });

  it('echoes a valid X-Request-Id, replaces an invalid one, and puts it in error bodies', async () => {
    const echoed = await system.http.get('/health/live').set('X-Request-Id', 'trace-abc.123');
    expect(echoed.headers['x-request-id']).toBe('trace-abc.123');
    const replaced = await system.http.get('/v2/nowhere').set('X-Request-Id', 'bad id with spaces');
    expect(replaced.headers['x-request-id']).toMatch(/^req_/);
    expect(replaced.body.error.requestId).toBe(replaced.headers['x-request-id']);
  });

  it('answers an unknown route with 404 NOT_FOUND in the envelope', async () => {
    const res = await system.http.get('/v2/definitely/not/here').expect(404);
    expectEnvelope(res.body, 'NOT_FOUND');
  });

  it('answers malformed JSON with 400 INVALID_REQUEST', async () => {
    const res = await system.http
      .post('/v2/auth/token')
      .set('Content-Type', 'application/json')
      .send('{"grant_type": ');
    expect(res.status).toBe(400);
    expectEnvelope(res.body, 'INVALID_REQUEST');
  });

  it('answers an unsupported media type in the envelope', async () => {
    const res = await system.http
      .post('/v2/auth/refresh')
      .set('Content-Type', 'application/xml')
      .send('<a/>');
    expect(res.status).toBe(415);
    expectEnvelope(res.body, 'INVALID_REQUEST');
  });

  it('answers a body over 1 MB with 413 in the envelope', async () => {
    const res = await system.http
      .post('/v2/auth/token')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ grant_type: 'x'.repeat(1_100_000) }));
    expect(res.status).toBe(413);
    expectEnvelope(res.body, 'INVALID_REQUEST');
  });

  it('serves the OpenAPI document and Swagger UI', async () => {
    const doc = await system.http.get('/docs-json').expect(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(doc.body.components.securitySchemes.bearer).toEqual(
      expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    );
    expect(doc.body.components.schemas.ErrorEnvelope).toBeDefined();
    expect(doc.body.paths['/v2/users'].post.responses['422'].content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/ErrorEnvelope',
    });
    expect(doc.body.paths['/v2/auth/token'].post.requestBody.content).toHaveProperty(
      'application/x-www-form-urlencoded',
    );
    const ui = await system.http.get('/docs').redirects(1);
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('swagger');
  });

  it('answers 503 with Retry-After while PostgreSQL is unreachable, and recovers', async () => {
    const token = await system.adminToken();
    await pgProxy.cut();
    try {
      const res = await system.http.get('/v2/users').auth(token, { type: 'bearer' });
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBeDefined();
      expectEnvelope(res.body, 'SERVICE_UNAVAILABLE');
      const ready = await system.http.get('/health/ready');
      expect(ready.status).toBe(503);
      expectEnvelope(ready.body, 'SERVICE_UNAVAILABLE');
    } finally {
      await pgProxy.restore();
    }
    const deadline = Date.now() + 10000;
    let status = 0;
    while (Date.now() < deadline && status !== 200) {
      status = (await system.http.get('/v2/users').auth(token, { type: 'bearer' })).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(200);
  });
});
