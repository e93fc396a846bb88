import { Semaphore } from './semaphore';

const tick = () => new Promise((r) => setImmediate(r));

describe('Semaphore', () => {
  it('lets `limit` run at once and the rest in order', async () => {
    const s = new Semaphore(2);
    const order: string[] = [];
    const gates: Array<() => void> = [];
    const job = (name: string) =>
      s.with(
        () =>
          new Promise<void>((resolve) => {
            order.push(`start ${name}`);
            gates.push(() => {
              order.push(`end ${name}`);
              resolve();
            });
          }),
      );
    const all = Promise.all(['a', 'b', 'c', 'd'].map(job));
    await tick();
    expect(order).toEqual(['start a', 'start b']);
    expect(s.inUse).toBe(2);
    gates.shift()!();
    await tick();
    await tick();
    expect(order).toEqual(['start a', 'start b', 'end a', 'start c']);
    while (gates.length) {
      gates.shift()!();
      await tick();
      await tick();
    }
    await all;
    expect(s.inUse).toBe(0);
  });

  it('an aborted wait takes no slot, and a failing holder frees its slot', async () => {
    const s = new Semaphore(1);
    let release!: () => void;
    const first = s.with(() => new Promise<void>((r) => (release = r)));
    const abort = new AbortController();
    const waiting = s.with(async () => 'never', abort.signal);
    abort.abort();
    await expect(waiting).rejects.toThrow('aborted');
    release();
    await first;
    await expect(s.with(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(s.with(async () => 'ok')).resolves.toBe('ok');
    expect(() => new Semaphore(0)).toThrow();
  });
});
