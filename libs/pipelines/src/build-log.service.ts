import { Injectable } from '@nestjs/common';
import { LiveEvents, Tx } from '@app/core';
import { BuildLogKind } from './build-log-event.entity';
import { BuildLogEvent, BuildLogRepository } from './build-log.repository';
import { BuildStatus, FINISHED_BUILD_STATUSES } from './build.entity';

export type { BuildLogEvent } from './build-log.repository';

export type BuildLogStreamItem = BuildLogEvent | { heartbeat: true };

/** How often a live stream re-reads PostgreSQL for events a dropped pub/sub message left out, and sends a heartbeat. */
const POLL_MS = 10_000;
const PAGE = 500;

export const buildLogChannel = (buildId: string) => `builds:${buildId}:log`;

/** True for the `status` event that ends a build (after it, nothing more is written). */
export function isFinalEvent(e: BuildLogEvent): boolean {
  if (e.kind !== 'status') return false;
  try {
    return FINISHED_BUILD_STATUSES.includes((JSON.parse(e.body) as { status: BuildStatus }).status);
  } catch {
    return false;
  }
}

/**
 * A build's log as numbered events in PostgreSQL (durable, readable by every gateway), announced
 * over Redis pub/sub the moment they commit (live). Readers take the backlog from the table and
 * then follow the announcements, re-reading the table when a number is missing.
 */
@Injectable()
export class BuildLogService {
  constructor(
    private readonly repo: BuildLogRepository,
    private readonly live: LiveEvents,
  ) {}

  /**
   * Appends events with the next numbers (the build row's counter serialises writers), inside
   * the caller's transaction when given one; they are announced after it commits.
   */
  async append(
    buildId: string,
    events: Array<{ kind: BuildLogKind; body: string }>,
    tx?: Tx,
  ): Promise<BuildLogEvent[]> {
    if (!events.length) return [];
    const bytes = events.reduce((n, e) => n + (e.kind === 'log' ? Buffer.byteLength(e.body) : 0), 0);
    const rows = await this.repo.append(buildId, events, bytes, tx?.manager);
    rows.sort((a, b) => a.seq - b.seq);
    const announce = () => this.live.publish(buildLogChannel(buildId), JSON.stringify(rows));
    if (tx) tx.afterCommit(announce);
    else await announce();
    return rows;
  }

  /**
   * Watches a build for its status events: `next(ms)` resolves at the next one, after `ms`
   * without one, or when `signal` aborts, for a waiter that then reads the build again (the
   * pub/sub message is news only). `close()` ends the watch.
   */
  async watch(buildId: string): Promise<{
    next: (ms: number, signal?: AbortSignal) => Promise<void>;
    close: () => Promise<void>;
  }> {
    let wake: (() => void) | null = null;
    let woken = false;
    const unsubscribe = await this.live.subscribe(buildLogChannel(buildId), (message) => {
      try {
        if (!(JSON.parse(message) as BuildLogEvent[]).some((e) => e.kind === 'status')) return;
      } catch {
        /* a malformed message wakes the waiter, which reads the build */
      }
      woken = true;
      wake?.();
    });
    return {
      next: (ms, signal) =>
        new Promise<void>((resolve) => {
          if (woken || signal?.aborted) {
            woken = false;
            return resolve();
          }
          const done = () => {
            clearTimeout(timer);
            signal?.removeEventListener('abort', done);
            wake = null;
            woken = false;
            resolve();
          };
          const timer = setTimeout(done, ms);
          signal?.addEventListener('abort', done, { once: true });
          wake = done;
        }),
      close: unsubscribe,
    };
  }

  /** The output text of the build so far. */
  async text(buildId: string): Promise<string> {
    return this.repo.text(buildId);
  }

  async after(buildId: string, seq: number, limit = PAGE): Promise<BuildLogEvent[]> {
    return this.repo.after(buildId, seq, limit);
  }

  /**
   * Every event after `after` (a Last-Event-ID), then the live ones as they come, until the
   * build's final status event, the build's end when the reader already has it, or `signal`.
   * Yields a heartbeat when nothing happened for a while.
   */
  async *stream(buildId: string, after: number, signal: AbortSignal): AsyncGenerator<BuildLogStreamItem> {
    const pending: BuildLogEvent[] = [];
    let wake: (() => void) | null = null;
    const notify = () => {
      const w = wake;
      wake = null;
      w?.();
    };
    // Subscribe before reading the backlog, so nothing committed in between is missed.
    const unsubscribe = await this.live.subscribe(buildLogChannel(buildId), (message) => {
      try {
        pending.push(...(JSON.parse(message) as BuildLogEvent[]));
      } catch {
        /* a malformed message only wakes the reader, which reads the table */
      }
      notify();
    });
    signal.addEventListener('abort', notify);
    let last = after;
    try {
      while (!signal.aborted) {
        for (;;) {
          const rows = await this.after(buildId, last);
          for (const e of rows) {
            yield e;
            last = e.seq;
            if (isFinalEvent(e)) return;
          }
          if (rows.length < PAGE || signal.aborted) break;
        }
        const build = await this.repo.progress(buildId);
        if (!build || (FINISHED_BUILD_STATUSES.includes(build.status) && last >= build.log_seq)) return;
        while (!signal.aborted) {
          const next = pending.shift();
          if (next) {
            if (next.seq <= last) continue;
            if (next.seq > last + 1) break; // a message was lost: read the table
            yield next;
            last = next.seq;
            if (isFinalEvent(next)) return;
            continue;
          }
          const idle = await new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(true), POLL_MS);
            wake = () => {
              clearTimeout(timer);
              resolve(false);
            };
          });
          if (idle) {
            yield { heartbeat: true };
            break;
          }
        }
      }
    } finally {
      signal.removeEventListener('abort', notify);
      await unsubscribe();
    }
  }
}

/** An event as clients receive it: `log` carries {text}; `stage` and `status` their JSON object. */
export function logEventMessage(e: BuildLogEvent): { id: number; event: BuildLogKind; data: unknown } {
  let data: unknown;
  if (e.kind === 'log') data = { text: e.body };
  else {
    try {
      data = JSON.parse(e.body);
    } catch {
      data = { text: e.body };
    }
  }
  return { id: e.seq, event: e.kind, data };
}
