import { FastifyReply } from 'fastify';

/** One Server-Sent Event; a heartbeat becomes a comment line that keeps proxies from closing the stream. */
export type SseItem = { id?: number; event: string; data: unknown } | { heartbeat: true };

const open = new Set<AbortController>();

/**
 * Ends every open event stream (gateway shutdown): a stream follows a build for as long as it
 * runs, which must not hold the shutdown; clients reconnect elsewhere with Last-Event-ID.
 */
export function closeEventStreams(): void {
  for (const controller of open) controller.abort();
}

/** True when the client asks for an event stream rather than the plain resource. */
export function wantsEventStream(accept: string | undefined): boolean {
  return !!accept && /\btext\/event-stream\b/i.test(accept);
}

/** Last-Event-ID as a non-negative integer (0 when absent or not a number). */
export function parseLastEventId(raw: string | undefined): number {
  const n = Number(raw);
  return raw && Number.isSafeInteger(n) && n >= 0 ? n : 0;
}

export function formatSse(item: SseItem): string {
  if ('heartbeat' in item) return ': heartbeat\n\n';
  // JSON keeps newlines and carriage returns of the data intact on a single data: line.
  return `${item.id !== undefined ? `id: ${item.id}\n` : ''}event: ${item.event}\ndata: ${JSON.stringify(item.data)}\n\n`;
}

/**
 * Streams `events` as text/event-stream on the raw response, taking it over from Fastify (the
 * headers already set on the reply, such as X-Request-Id, are kept). Access checks must have
 * run before: once the stream starts, errors can only end it. A client that disconnects
 * aborts the iteration.
 */
export async function sendEventStream(
  reply: FastifyReply,
  events: (signal: AbortSignal) => AsyncIterable<SseItem>,
): Promise<void> {
  const controller = new AbortController();
  open.add(controller);
  const raw = reply.raw;
  // The response's close (not the request's: that fires once a GET is read) means the client left.
  raw.once('close', () => controller.abort());
  reply.hijack();
  raw.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  raw.write('retry: 2000\n\n');
  try {
    for await (const item of events(controller.signal)) {
      if (controller.signal.aborted || raw.destroyed) break;
      if (!raw.write(formatSse(item)))
        await new Promise((resolve) => {
          raw.once('drain', resolve);
          raw.once('close', resolve);
        });
    }
  } catch (err) {
    if (!raw.destroyed) raw.write(formatSse({ event: 'error', data: { message: (err as Error).message } }));
  } finally {
    open.delete(controller);
    controller.abort();
    if (!raw.destroyed) raw.end();
  }
}
