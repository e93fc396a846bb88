import { loadConfig } from '@app/core';
import { MODEL_RELAY_PLACEHOLDER_KEY, ModelRelay, ModelRelays, Sandbox, SandboxResult } from '@app/runner';
import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { sandboxTmpDir } from '../support/env';
import { FakeAnthropic } from '../support/fake-anthropic';
import { eventually } from '../support/system';

/** The worker's key: only the relay outside the sandbox has it. */
const KEY_MARK = `relaykey${randomBytes(6).toString('hex')}`;
const KEY = `sk-ant-api03-${KEY_MARK}`;

/** A streaming Messages call to ANTHROPIC_BASE_URL, as Claude Code makes it: prints status and events. */
const STREAM_JS = `
fetch(process.env.ANTHROPIC_BASE_URL + '/v1/messages?beta=true', {
  method: 'POST',
  headers: { 'content-type': 'application/json', 'x-api-key': process.env.ANTHROPIC_API_KEY, 'anthropic-version': '2023-06-01' },
  body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'write a.txt' }] }),
}).then(async (r) => {
  console.log('stream-status ' + r.status);
  for await (const chunk of r.body) process.stdout.write(Buffer.from(chunk).toString());
}, (e) => { console.log('stream-failed ' + (e.cause?.code ?? e.message)); process.exit(3); });`;

/** Any other call through the relay: prints its status. */
const OTHER_JS = `
fetch(process.env.ANTHROPIC_BASE_URL + process.argv[1], { method: process.argv[2] ?? 'POST', headers: { 'x-api-key': 'x' }, body: process.argv[2] === 'GET' ? undefined : '{}' })
  .then((r) => console.log('other-status ' + process.argv[1] + ' ' + r.status), (e) => console.log('other-failed ' + e.message));`;

/** Can it open a TCP connection to host:port? (exit 0: yes) */
const NET_JS =
  "const s=require('net').connect(+process.argv[2],process.argv[1]);s.setTimeout(1500);" +
  "s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1));s.on('timeout',()=>process.exit(1))";

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

describe('the model relay: a sandbox with no network reaches the Messages API, never the key', () => {
  const fake = new FakeAnthropic();
  const root = sandboxTmpDir('cocode-relay-e2e-');
  let sandbox: Sandbox;
  let relays: ModelRelays;

  beforeAll(async () => {
    for (const level of ['log', 'debug', 'warn'] as const)
      jest.spyOn(Logger.prototype, level).mockImplementation(() => undefined);
    await fake.start();
    const config = loadConfig(
      {
        NODE_ENV: 'test',
        ANTHROPIC_API_KEY: KEY,
        ANTHROPIC_BASE_URL: fake.url,
        WORKSPACES_ROOT: join(root, 'workspaces'),
        LOG_LEVEL: 'warn',
      },
      'worker',
    );
    sandbox = new Sandbox(config);
    relays = new ModelRelays(config);
    await sandbox.init();
  });

  afterAll(async () => {
    await sandbox?.onApplicationShutdown();
    await fake.stop();
    rmSync(root, { recursive: true, force: true });
    jest.restoreAllMocks();
  });

  async function runWithRelay(
    relay: ModelRelay,
    command: string,
    network: 'none' | 'internet' = 'none',
  ): Promise<SandboxResult & { output: string }> {
    const workspace = join(root, 'workspaces', `ws-${randomBytes(4).toString('hex')}`);
    mkdirSync(join(workspace, 'home'), { recursive: true });
    await sandbox.own(workspace, join(workspace, 'home'));
    let output = '';
    const result = await sandbox.run({
      argv: ['/bin/sh', '-c', command],
      workspace,
      env: { CI: 'true' },
      network,
      timeoutMs: 60_000,
      onOutput: (t) => (output += t),
      jobId: 'relay-e2e',
      modelRelay: { socketPath: relay.socketPath },
    });
    rmSync(workspace, { recursive: true, force: true });
    return { ...result, output };
  }

  const probes = (fakePort: number) =>
    [
      `export STREAM_JS=${quote(STREAM_JS)} OTHER_JS=${quote(OTHER_JS)} NET_JS=${quote(NET_JS)}`,
      'echo "base=$ANTHROPIC_BASE_URL key=$ANTHROPIC_API_KEY"',
      'node -e "$STREAM_JS"',
      'node -e "$OTHER_JS" /v1/other',
      'node -e "$OTHER_JS" /v1/models GET',
      'node -e "$OTHER_JS" /v1/messages/batches',
      'p() { if eval "$2" >/dev/null 2>&1; then echo "LEAK $1"; else echo "BLOCKED $1"; fi; }',
      // Controls: the probes do see what is there (the placeholder, in the forwarder's environ too).
      `p control-env ${quote(`env | grep -q ${MODEL_RELAY_PLACEHOLDER_KEY}`)}`,
      `p control-environ ${quote(`cat /proc/[0-9]*/environ 2>/dev/null | tr "\\0" "\\n" | grep -c ${MODEL_RELAY_PLACEHOLDER_KEY} | grep -qv "^[01]$"`)}`,
      `p env-key ${quote(`env | grep -q ${KEY_MARK}`)}`,
      `p environ-key ${quote(`cat /proc/[0-9]*/environ 2>/dev/null | tr "\\0" "\\n" | grep -q ${KEY_MARK}`)}`,
      `p files-key ${quote(`grep -rqs ${KEY_MARK} /run /tmp /workspace /etc`)}`,
      `p net-internet ${quote('node -e "$NET_JS" 1.1.1.1 443')}`,
      `p net-postgres ${quote('node -e "$NET_JS" 127.0.0.1 5432')}`,
      `p net-api-direct ${quote(`node -e "$NET_JS" 127.0.0.1 ${fakePort}`)}`,
      `p write-socket-dir ${quote('touch /run/cocode/x')}`,
      'ls -la /run/cocode',
      'echo probes-done',
    ].join('\n');

  const PROBE_NAMES = [
    'env-key',
    'environ-key',
    'files-key',
    'net-internet',
    'net-postgres',
    'net-api-direct',
    'write-socket-dir',
  ];

  function expectAllBlocked(output: string): void {
    const results = PROBE_NAMES.map((name) => [
      name,
      new RegExp(`^(BLOCKED|LEAK) ${name}$`, 'm').exec(output)?.[1] ?? 'missing',
    ]);
    expect(results).toEqual(PROBE_NAMES.map((name) => [name, 'BLOCKED']));
    expect(output).toMatch(/^LEAK control-env$/m);
    expect(output).toMatch(/^LEAK control-environ$/m);
    expect(output).toContain('probes-done');
  }

  it('streams a scripted turn to a program inside (network none); the fake gets the key, the sandbox never has it', async () => {
    const relay = await relays.start('e2e-none');
    fake.turns.push({
      toolUse: { name: 'Write', input: { file_path: '/workspace/src/a.txt', content: 'hello' } },
    });
    const before = fake.calls.length;
    let r: SandboxResult & { output: string };
    try {
      r = await runWithRelay(relay, probes(fake.port));
    } finally {
      await relay.stop();
    }
    expect(r.outcome).toBe('exited');
    expect(r.exitCode).toBe(0);
    const out = r.output;
    expect(out).toContain(`base=http://127.0.0.1:17480 key=${MODEL_RELAY_PLACEHOLDER_KEY}`);
    expect(out).toContain('stream-status 200');
    const events = FakeAnthropic.parseEvents(out.slice(out.indexOf('event:'), out.indexOf('other-')));
    expect(events[0].event).toBe('message_start');
    expect(events.at(-1)?.event).toBe('message_stop');
    expect(events.at(-2)?.data).toMatchObject({ delta: { stop_reason: 'tool_use' } });
    expect(events.filter((e) => e.event === 'content_block_start')[0].data).toMatchObject({
      content_block: { type: 'tool_use', name: 'Write' },
    });
    // Only the Messages call arrived, with the worker's key in place of the placeholder.
    expect(out).toContain('other-status /v1/other 403');
    expect(out).toContain('other-status /v1/models 403');
    expect(out).toContain('other-status /v1/messages/batches 403');
    const calls = fake.calls.slice(before);
    expect(calls.map((c) => c.path)).toEqual(['/v1/messages?beta=true']);
    expect(calls[0].headers['x-api-key']).toBe(KEY);
    expect(calls[0].headers.authorization).toBeUndefined();
    expect(out).not.toContain(KEY_MARK);
    expectAllBlocked(out);
    expect(relay.stats()).toMatchObject({ requests: 4, refused: 3 });
    expect(existsSync(relay.socketPath)).toBe(false);
  });

  it('works the same in a sandbox with network "internet"', async () => {
    const relay = await relays.start('e2e-internet');
    const before = fake.calls.length;
    try {
      const r = await runWithRelay(relay, `node -e ${quote(STREAM_JS)}`, 'internet');
      expect(r.outcome).toBe('exited');
      expect(r.output).toContain('stream-status 200');
      expect(r.output).toContain('event: message_stop');
    } finally {
      await relay.stop();
    }
    expect(fake.calls.slice(before).map((c) => c.headers['x-api-key'])).toEqual([KEY]);
  });

  it('with SANDBOX=none (development), serves the relay on a free port of the host’s loopback', async () => {
    const config = loadConfig(
      { NODE_ENV: 'test', SANDBOX: 'none', ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: fake.url },
      'worker',
    );
    const onHost = new Sandbox(config);
    const relay = await new ModelRelays(config).start('e2e-host');
    const workspace = join(root, 'workspaces', 'on-host');
    mkdirSync(join(workspace, 'home'), { recursive: true });
    let output = '';
    try {
      const r = await onHost.run({
        argv: [
          '/bin/sh',
          '-c',
          `echo "key=$ANTHROPIC_API_KEY base=$ANTHROPIC_BASE_URL"; node -e ${quote(STREAM_JS)}`,
        ],
        workspace,
        env: {},
        timeoutMs: 30_000,
        onOutput: (t) => (output += t),
        jobId: 'relay-e2e-host',
        modelRelay: { socketPath: relay.socketPath },
      });
      expect(r).toMatchObject({ outcome: 'exited', exitCode: 0 });
    } finally {
      await relay.stop();
    }
    expect(output).toMatch(
      new RegExp(`key=${MODEL_RELAY_PLACEHOLDER_KEY} base=http://127\\.0\\.0\\.1:\\d+$`, 'm'),
    );
    expect(output).toContain('stream-status 200');
    expect(output).toContain('event: message_stop');
    expect(fake.calls.at(-1)?.headers['x-api-key']).toBe(KEY);
  });

  it('cuts a stream in flight when the session’s relay stops', async () => {
    const relay = await relays.start('e2e-stop');
    fake.eventDelayMs = 300;
    fake.turns.push({ text: 'a long answer, streamed slowly', end: true });
    const before = fake.streamed.length;
    try {
      const running = runWithRelay(relay, `node -e ${quote(STREAM_JS)}; echo "exit=$?"`);
      await eventually(async () => fake.streamed.length > before, 20_000);
      await new Promise((resolve) => setTimeout(resolve, 700));
      await relay.stop();
      const r = await running;
      expect(r.outcome).toBe('exited');
      expect(r.output).toContain('stream-status 200');
      expect(r.output).toContain('event: message_start');
      expect(r.output).not.toContain('message_stop');
      expect(r.output).toMatch(/exit=[1-9]/);
    } finally {
      fake.eventDelayMs = 0;
      await relay.stop();
    }
  });
});
