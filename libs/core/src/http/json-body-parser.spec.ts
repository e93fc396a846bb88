import Fastify from 'fastify';
import { toErrorResponse } from '../errors/error-response';
import { installJsonBodyParser } from './json-body-parser';

describe('installJsonBodyParser', () => {
  const app = Fastify();
  installJsonBodyParser(app, 4);
  app.setErrorHandler((err, request, reply) => {
    const response = toErrorResponse(err, String(request.id));
    void reply.status(response.status).send(response.body);
  });
  app.post('/echo', (request) => ({ body: request.body === undefined ? 'none' : request.body }));
  afterAll(() => app.close());

  const post = (payload: string) =>
    app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload });

  it.each(['', '  \n'])('takes an empty body (%p) as no body', async (payload) => {
    const res = await post(payload);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ body: 'none' });
  });

  it('parses documents up to the depth limit', async () => {
    expect((await post('{"a":[[{"b":1}]]}')).json()).toEqual({ body: { a: [[{ b: 1 }]] } });
  });

  it('refuses a deeper document with 400 before parsing it', async () => {
    const res = await post('[[[[[1]]]]]');
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({
      code: 'INVALID_REQUEST',
      details: { reason: 'too_deep', maxDepth: 4 },
    });
  });

  it('keeps malformed JSON a 400 and prototype poisoning refused', async () => {
    expect((await post('{"a":')).statusCode).toBe(400);
    expect((await post('{"__proto__":{"x":1}}')).statusCode).toBe(400);
  });
});
