// Reads an SSE stream until a condition holds (agents suite); test/support/sse.ts reads to the end with timings.
export interface SseEvent {
  id: string;
  event: string;
  data: Record<string, unknown>;
}

/** Reads a Server-Sent Events stream until `until` says stop, the server ends it, or time runs out. */
export async function readSse(
  url: string,
  token: string,
  options: { lastEventId?: string; until?: (events: SseEvent[]) => boolean; timeoutMs?: number } = {},
): Promise<{ status: number; events: SseEvent[]; ended: boolean }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 10000);
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'text/event-stream' };
  if (options.lastEventId) headers['last-event-id'] = options.lastEventId;
  const events: SseEvent[] = [];
  let ended = false;
  let status = 0;
  try {
    const res = await fetch(url, { headers, signal: controller.signal });
    status = res.status;
    if (!res.body || status !== 200) return { status, events, ended };
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        ended = true;
        break;
      }
      buffer += decoder.decode(value, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const fields = Object.fromEntries(
          block
            .split('\n')
            .filter((l) => l && !l.startsWith(':'))
            .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]),
        );
        if (fields.data) events.push({ id: fields.id, event: fields.event, data: JSON.parse(fields.data) });
      }
      if (options.until?.(events)) {
        controller.abort();
        break;
      }
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err;
  } finally {
    clearTimeout(timer);
  }
  return { status, events, ended };
}
