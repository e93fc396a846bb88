import { LiveEvents } from './live-events';

export type Heartbeat = { heartbeat: true };

export interface FollowOptions<T extends { id: string }> {
  live: LiveEvents;
  /** Any message on it means "read again"; its content is not used. */
  channel: string;
  /** The id to read after (a Last-Event-ID; '0' for all). */
  after: string;
  signal: AbortSignal;
  /** The next items after an id, in order, and whether more are waiting. */
  read: (after: string) => Promise<{ items: T[]; more: boolean }>;
  /** Asked after each read that left nothing waiting: whether the stream is over (given what was just read). */
  over: (items: T[]) => Promise<boolean>;
  /** A quiet stream reads again after this long (a lost message), and sends a heartbeat. */
  idleMs: number;
}

/**
 * Follows an append-only record (rows with increasing ids) as it grows: everything after `after`,
 * then each new item as its writer announces it on `channel`, until `over` says so or `signal`
 * aborts. The table is the record and Redis only wakes the reader, so a lost message delays an
 * item by at most `idleMs` and loses nothing. Subscribes before the first read: nothing written
 * in between is missed.
 */
export async function* followRecord<T extends { id: string }>(
  o: FollowOptions<T>,
): AsyncGenerator<T | Heartbeat> {
  let wake: (() => void) | null = null;
  let woken = false;
  const notify = () => {
    woken = true;
    const w = wake;
    wake = null;
    w?.();
  };
  const unsubscribe = await o.live.subscribe(o.channel, notify);
  o.signal.addEventListener('abort', notify);
  let last = o.after;
  try {
    while (!o.signal.aborted) {
      woken = false;
      const { items, more } = await o.read(last);
      for (const item of items) {
        yield item;
        last = item.id;
      }
      if (more) continue;
      if (await o.over(items)) return;
      if (woken || o.signal.aborted) continue;
      const idle = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(true), o.idleMs);
        wake = () => {
          clearTimeout(timer);
          resolve(false);
        };
      });
      if (idle) yield { heartbeat: true };
    }
  } finally {
    o.signal.removeEventListener('abort', notify);
    await unsubscribe();
  }
}
