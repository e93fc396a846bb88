import { loadConfig } from '@app/core';
import { Logger } from '@nestjs/common';
import { statSync } from 'node:fs';
import { ModelRelays } from './model-relays';

const relaysWith = (env: Record<string, string>) =>
  new ModelRelays(loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'warn', ...env }, 'worker'));

describe('ModelRelays', () => {
  beforeAll(() => jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined));
  afterAll(() => jest.restoreAllMocks());

  it('starts no relay without a key on the worker', async () => {
    const relays = relaysWith({ AGENTS_PROVIDER: 'template' });
    expect(relays.available).toBe(false);
    await expect(relays.start('s1')).rejects.toThrow(/ANTHROPIC_API_KEY/);
  });

  it('gives the socket to the sandbox’s uid when the worker is root and jobs run in bubblewrap', async () => {
    const relays = relaysWith({ ANTHROPIC_API_KEY: 'sk-ant-x', SANDBOX_UID: '10123', SANDBOX_GID: '10124' });
    expect(relays.available).toBe(true);
    const relay = await relays.start('s2');
    try {
      const s = statSync(relay.socketPath);
      const root = process.getuid?.() === 0;
      expect([s.uid, s.gid]).toEqual(root ? [10123, 10124] : [process.getuid?.(), process.getgid?.()]);
      expect(s.mode & 0o777).toBe(0o600);
    } finally {
      await relay.stop();
    }
  });
});
