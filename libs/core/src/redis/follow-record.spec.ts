import { followRecord, Heartbeat } from './follow-record';
import { LiveEvents } from './live-events';

/** A record of rows and a channel, in memory. */
function fixture() {
  const rows: Array<{ id: string; end?: boolean }> = [];
  const listeners = new Set<() => void>();
  const live = {
    subscribe: async (_channel: string, fn: () => void) => {
      listeners.add(fn);
      return async () => void listeners.delete(fn);
    },
  } as unknown as LiveEvents;
  const append = (id: number, end = false) => {
    rows.push({ id: String(id), end });
    for (const fn of listeners) fn();
  };
  const read = async (after: string) => {
    const items = rows.filter((r) => Number(r.id) > Number(after)).slice(0, 2);
    return { items, more: items.length === 2 && rows.filter((r) => Number(r.id) > Number(after)).length > 2 };
  };
  const follow = (o: {
    after: string;
    over: (items: Array<{ id: string; end?: boolean }>) => Promise<boolean>;
    idleMs: number;
  }) => {
    const controller = new AbortController();
    return {
      controller,
      stream: followRecord({ live, channel: 'c', signal: controller.signal, read, ...o }),
    };
  };
  return { rows, listeners, live, append, read, follow };
}

async function collect<T>(it: AsyncGenerator<T>, max = 100): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) {
    out.push(x);
    if (out.length >= max) break;
  }
  return out;
}

describe('followRecord', () => {
  it('reads what is there after the id, page by page, then what is appended, until over', async () => {
    const f = fixture();
    for (const id of [1, 2, 3, 4, 5]) f.append(id);
    const { stream } = f.follow({
      after: '1',
      over: async (items) => items.some((i) => i.end),
      idleMs: 60_000,
    });
    setTimeout(() => f.append(6), 20);
    setTimeout(() => f.append(7, true), 40);
    const got = await collect(stream);
    expect(got.map((x) => ('heartbeat' in x ? 'hb' : x.id))).toEqual(['2', '3', '4', '5', '6', '7']);
    expect(f.listeners.size).toBe(0); // unsubscribed at the end
  });

  it('a quiet stream sends heartbeats and reads again (a lost message loses nothing); abort ends it', async () => {
    const f = fixture();
    const { stream, controller } = f.follow({ after: '0', over: async () => false, idleMs: 30 });
    // Written without a message: found by the read after the next heartbeat.
    setTimeout(() => f.rows.push({ id: '1' }), 10);
    const got: Array<{ id: string } | Heartbeat> = [];
    for await (const x of stream) {
      got.push(x);
      if (!('heartbeat' in x)) controller.abort();
    }
    expect(got[0]).toEqual({ heartbeat: true });
    expect(got.at(-1)).toEqual({ id: '1' });
    expect(f.listeners.size).toBe(0);
  });
});
