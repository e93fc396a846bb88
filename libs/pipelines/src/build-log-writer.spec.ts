import { Logger } from '@nestjs/common';
import { BuildLogWriter } from './build-log-writer';
import { BuildLogService } from './build-log.service';

function fakeLog() {
  const appended: string[] = [];
  const log = {
    append: jest.fn(async (_id: string, events: Array<{ kind: string; body: string }>) => {
      appended.push(...events.map((e) => e.body));
      return [];
    }),
  } as unknown as BuildLogService;
  return { log, appended };
}

describe('BuildLogWriter', () => {
  it('stores the output masked, in order, as log events', async () => {
    const { log, appended } = fakeLog();
    const writer = new BuildLogWriter(log, 'build_x', ['hunter22'], 1_000_000);
    writer.write('password: hun');
    writer.write('ter22\nnext line\n');
    await writer.drain();
    expect(appended.join('')).toBe('password: [MASKED]\nnext line\n');
    expect(appended.join('')).not.toContain('hun');
  });

  it('batches output written close together into one event', async () => {
    const { log, appended } = fakeLog();
    const writer = new BuildLogWriter(log, 'build_x', [], 1_000_000);
    for (let i = 0; i < 100; i++) writer.write(`line ${i}\n`);
    await writer.drain();
    expect(appended).toHaveLength(1);
  });

  it('cuts the log at the byte limit with a note, and drops what comes after', async () => {
    const { log, appended } = fakeLog();
    const writer = new BuildLogWriter(log, 'build_x', [], 20);
    writer.write('0123456789');
    await writer.drain();
    writer.write('abcdefghijklmnopqrstuvwxyz');
    await writer.drain();
    writer.write('never stored');
    await writer.drain();
    const text = appended.join('');
    expect(text.startsWith('0123456789abcdefghij\n[log truncated')).toBe(true);
    expect(text).toContain('BUILDS_MAX_LOG_BYTES');
    expect(text).not.toContain('never stored');
  });

  it('keeps going when a chunk cannot be stored', async () => {
    const appended: string[] = [];
    let calls = 0;
    const log = {
      append: async (_id: string, events: Array<{ body: string }>) => {
        if (++calls === 1) throw new Error('database away');
        appended.push(...events.map((e) => e.body));
        return [];
      },
    } as unknown as BuildLogService;
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const writer = new BuildLogWriter(log, 'build_x', [], 1000);
    writer.write('lost\n');
    await writer.drain();
    writer.write('kept\n');
    await writer.drain();
    expect(appended).toEqual(['kept\n']);
    expect(warn).toHaveBeenCalledWith('build build_x: a log chunk was lost: database away');
    warn.mockRestore();
  });
});
