import { Logger } from '@nestjs/common';
import { existsSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { FakeAnthropic } from '../../../../test/support/fake-anthropic';
import { ModelRelay } from './model-relay';

const KEY = 'sk-ant-real-key-for-tests';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The body's chunks as they arrived, with when. */
  chunks: Array<{ at: number; text: string }>;
}

/** One HTTP call over the relay's unix socket, as the forwarder inside the sandbox makes it. */
function call(
  socketPath: string,
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({
      socketPath,
      method,
      path,
      headers: { 'content-type': 'application/json', ...headers },
    });
    req.on('response', (res) => {
      const chunks: Answer['chunks'] = [];
      res.on('data', (c: Buffer) => chunks.push({ at: Date.now(), text: c.toString() }));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: chunks.map((c) => c.text).join(''),
          chunks,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const messages = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    model: 'claude-sonnet-4-5',
    max_tokens: 100,
    messages: [{ role: 'user', content: 'hi' }],
    ...extra,
  });

describe('ModelRelay', () => {
  const fake = new FakeAnthropic();
  let relay: ModelRelay;

  const logged: unknown[] = [];

  beforeAll(async () => {
    for (const level of ['log', 'warn', 'debug', 'error'] as const)
      jest.spyOn(Logger.prototype, level).mockImplementation((...args: unknown[]) => void logged.push(args));
    await fake.start();
  });
  afterAll(async () => {
    await fake.stop();
    jest.restoreAllMocks();
  });
  beforeEach(async () => {
    fake.eventDelayMs = 0;
    fake.turns.length = 0;
    relay = await ModelRelay.start({ upstream: fake.url, apiKey: KEY, sessionId: 'test' });
  });
  afterEach(() => relay.stop());

  it('listens on a socket only its owner may connect to, in a directory nobody can list', () => {
    expect(statSync(relay.socketPath).isSocket()).toBe(true);
    expect(statSync(relay.socketPath).mode & 0o777).toBe(0o600);
    expect(statSync(relay.dir).mode & 0o777).toBe(0o711);
    expect(relay.socketPath.length).toBeLessThan(100);
  });

  it('forwards POST /v1/messages with its query, replacing the credentials from inside with the key', async () => {
    const before = fake.calls.length;
    const r = await call(relay.socketPath, 'POST', '/v1/messages?beta=true', messages(), {
      'x-api-key': 'sk-ant-relay-placeholder',
      authorization: 'Bearer stolen-or-fake',
      'anthropic-version': '2023-06-01',
      'anthropic-beta': 'claude-code-20250219',
    });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toMatchObject({ type: 'message', role: 'assistant' });
    const [got] = fake.calls.slice(before);
    expect(got.path).toBe('/v1/messages?beta=true');
    expect(got.headers['x-api-key']).toBe(KEY);
    expect(got.headers.authorization).toBeUndefined();
    expect(got.headers['anthropic-version']).toBe('2023-06-01');
    expect(got.headers['anthropic-beta']).toBe('claude-code-20250219');
    expect(got.headers.host).toBe(`127.0.0.1:${fake.port}`);
    expect(got.body).toMatchObject({ model: 'claude-sonnet-4-5' });
  });

  it('forwards POST /v1/messages/count_tokens', async () => {
    const r = await call(relay.socketPath, 'POST', '/v1/messages/count_tokens?beta=true', messages());
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toEqual({ input_tokens: fake.usage.input_tokens });
    expect(fake.calls.at(-1)?.headers['x-api-key']).toBe(KEY);
  });

  it('refuses every other method and path with 403, without calling upstream', async () => {
    const before = fake.calls.length;
    for (const [method, path] of [
      ['GET', '/v1/messages'],
      ['POST', '/v1/models'],
      ['GET', '/v1/models'],
      ['POST', '/v1/messages/batches'],
      ['POST', '/v1/messages/../files'],
      ['POST', '/v1/messages/%2e%2e/files'],
      ['POST', '/v1/complete'],
      ['POST', '/'],
      ['PUT', '/v1/messages'],
    ]) {
      // Node's client frames no body for a GET.
      const r = await call(relay.socketPath, method, path, method === 'GET' ? undefined : messages());
      expect([method, path, r.status]).toEqual([method, path, 403]);
      expect(JSON.parse(r.text)).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
    }
    expect(fake.calls.length).toBe(before);
    expect(relay.stats()).toMatchObject({ requests: 9, refused: 9, bytesUp: 0 });
  });

  it('passes a stream through event by event, as the upstream sends it', async () => {
    fake.eventDelayMs = 60;
    fake.turns.push({ toolUse: { name: 'Bash', input: { command: 'npm test' } } });
    const started = Date.now();
    const r = await call(relay.socketPath, 'POST', '/v1/messages?beta=true', messages({ stream: true }));
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/event-stream/);
    const events = FakeAnthropic.parseEvents(r.text);
    expect(events.map((e) => e.event)).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    // Unbuffered: many chunks, the first long before the last.
    expect(r.chunks.length).toBeGreaterThanOrEqual(events.length - 1);
    const span = r.chunks.at(-1)!.at - started;
    expect(span).toBeGreaterThanOrEqual(7 * 60 - 20);
    expect(r.chunks[0].at - started).toBeLessThan(span / 2);
    expect(relay.stats().bytesDown).toBe(Buffer.byteLength(r.text));
    expect(fake.streamed.at(-1)?.headers['x-api-key']).toBe(KEY);
  });

  it('refuses a body over the cap, declared or streamed, with 413', async () => {
    await relay.stop();
    relay = await ModelRelay.start({
      upstream: fake.url,
      apiKey: KEY,
      sessionId: 'small',
      maxBodyBytes: 1000,
    });
    const before = fake.calls.length;
    const big = messages({ system: 'x'.repeat(2000) });
    const declared = await call(relay.socketPath, 'POST', '/v1/messages', big);
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.text)).toMatchObject({ error: { type: 'request_too_large' } });
    // Chunked: no length to refuse by, the relay counts.
    const chunked = await new Promise<number | string>((resolve) => {
      const req = request({ socketPath: relay.socketPath, method: 'POST', path: '/v1/messages' });
      req.on('response', (res) => resolve(res.statusCode ?? 0));
      req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      req.write(big.slice(0, 900));
      setTimeout(() => req.end(big.slice(900)), 50);
    });
    expect([413, 'ECONNRESET', 'EPIPE']).toContain(chunked);
    expect(fake.calls.length).toBe(before);
    expect(relay.stats().refused).toBe(2);
    // Under the cap: forwarded.
    expect((await call(relay.socketPath, 'POST', '/v1/messages', messages())).status).toBe(200);
  });

  it('answers 502 in the API’s error shape when the upstream cannot be reached', async () => {
    await relay.stop();
    relay = await ModelRelay.start({ upstream: 'http://127.0.0.1:1', apiKey: KEY, sessionId: 'down' });
    const r = await call(relay.socketPath, 'POST', '/v1/messages', messages());
    expect(r.status).toBe(502);
    expect(JSON.parse(r.text)).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    expect(r.text).not.toContain(KEY);
  });

  it('stop() aborts open streams and removes the socket and its directory', async () => {
    fake.eventDelayMs = 200;
    fake.turns.push({ text: 'a long answer that takes a while to stream', end: true });
    const seen: string[] = [];
    const ended = new Promise<string>((resolve) => {
      const req = request({ socketPath: relay.socketPath, method: 'POST', path: '/v1/messages' });
      req.on('response', (res) => {
        res.on('data', (c: Buffer) => seen.push(c.toString()));
        res.on('end', () => resolve('complete'));
        res.on('aborted', () => resolve('aborted'));
        res.on('error', () => resolve('aborted'));
      });
      req.on('error', () => resolve('aborted'));
      req.end(messages({ stream: true }));
    });
    while (!seen.length) await new Promise((r) => setTimeout(r, 20));
    await relay.stop();
    expect(await ended).toBe('aborted');
    expect(seen.join('')).not.toContain('message_stop');
    expect(existsSync(relay.socketPath)).toBe(false);
    expect(existsSync(relay.dir)).toBe(false);
    await expect(call(relay.socketPath, 'POST', '/v1/messages', messages())).rejects.toMatchObject({
      code: 'ENOENT',
    });
    await relay.stop(); // again: nothing to do
  });

  it('never logs the key, and logs each relay’s counts when it closes', async () => {
    await call(relay.socketPath, 'POST', '/v1/messages', messages());
    await relay.stop();
    expect(logged.length).toBeGreaterThan(0);
    expect(JSON.stringify(logged)).not.toContain(KEY);
    expect(logged).toContainEqual([
      expect.objectContaining({ msg: 'model relay closed', requests: 1, refused: 0 }),
    ]);
  });
});
