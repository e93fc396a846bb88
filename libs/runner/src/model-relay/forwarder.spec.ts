import { Logger } from '@nestjs/common';
import { spawn } from 'node:child_process';
import { createServer, Server } from 'node:net';
import { FakeAnthropic } from '../../../../test/support/fake-anthropic';
import { MODEL_RELAY_PLACEHOLDER_KEY, withForwarder } from './forwarder';
import { ModelRelay } from './model-relay';

const KEY = 'sk-ant-forwarder-test-key';

/** Runs `argv` behind the forwarder on the host (port 0: any free one). */
function run(socketPath: string, argv: string[], port = 0): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const [file, ...args] = withForwarder(process.execPath, port, socketPath, argv);
    const child = spawn(file, args, {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ANTHROPIC_API_KEY: MODEL_RELAY_PLACEHOLDER_KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** What a client inside makes: a streaming Messages call to ANTHROPIC_BASE_URL, printing each event's type. */
const CLIENT = `
fetch(process.env.ANTHROPIC_BASE_URL + '/v1/messages?beta=true', {
  method: 'POST',
  headers: { 'content-type': 'application/json', 'x-api-key': process.env.ANTHROPIC_API_KEY, 'anthropic-version': '2023-06-01' },
  body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
}).then(async (r) => {
  console.log('status', r.status, process.env.ANTHROPIC_BASE_URL);
  for await (const chunk of r.body) process.stdout.write(Buffer.from(chunk).toString());
});`;

describe('the sandbox’s forwarder (run on the host here)', () => {
  const fake = new FakeAnthropic();
  let relay: ModelRelay;

  beforeAll(async () => {
    for (const level of ['log', 'debug'] as const)
      jest.spyOn(Logger.prototype, level).mockImplementation(() => undefined);
    await fake.start();
    relay = await ModelRelay.start({ upstream: fake.url, apiKey: KEY, sessionId: 'forwarder' });
  });
  afterAll(async () => {
    await relay.stop();
    await fake.stop();
    jest.restoreAllMocks();
  });

  it('serves the relay at ANTHROPIC_BASE_URL on the loopback, for the command it runs', async () => {
    fake.turns.push({ toolUse: { name: 'Write', input: { file_path: '/workspace/a.txt', content: 'x' } } });
    const r = await run(relay.socketPath, [process.execPath, '-e', CLIENT]);
    expect(r.code).toBe(0);
    expect(r.output).toMatch(/^status 200 http:\/\/127\.0\.0\.1:\d+$/m);
    const events = FakeAnthropic.parseEvents(r.output.slice(r.output.indexOf('event:')));
    expect(events.at(-2)?.data).toMatchObject({ delta: { stop_reason: 'tool_use' } });
    const json = events
      .map((e) => e.data.delta as { partial_json?: string } | undefined)
      .map((d) => d?.partial_json ?? '')
      .join('');
    expect(JSON.parse(json)).toEqual({ file_path: '/workspace/a.txt', content: 'x' });
    expect(fake.streamed.at(-1)?.headers['x-api-key']).toBe(KEY);
  });

  it('ends with the command: its exit code, 128 + n for a signal, 127 when it cannot start', async () => {
    expect((await run(relay.socketPath, ['/bin/sh', '-c', 'exit 7'])).code).toBe(7);
    expect((await run(relay.socketPath, ['/bin/sh', '-c', 'kill -TERM $$'])).code).toBe(143);
    const missing = await run(relay.socketPath, ['/nonexistent/program']);
    expect(missing.code).toBe(127);
    expect(missing.output).toContain('/nonexistent/program');
  });

  it('does not run the command when it cannot listen', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const r = await run(relay.socketPath, ['/bin/sh', '-c', 'echo ran'], port);
      expect(r.code).toBe(125);
      expect(r.output).not.toContain('ran');
      expect(r.output).toContain('model relay forwarder');
    } finally {
      taken.close();
    }
  });
});
