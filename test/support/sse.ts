import { request } from 'node:http';

/** One Server-Sent Event of the platform's streams (build logs, agent activations): JSON data. */
export interface SseEvent {
  id: number | null;
  event: string;
  data: Record<string, unknown>;
  /** ms since the request was sent */
  at: number;
}

/** Parses a text/event-stream body into its events (comments and retry lines dropped). */
export function parseSse(text: string, at = 0): SseEvent[] {
  const out: SseEvent[] = [];
  for (const block of text.split('\n\n')) {
    let id: number | null = null;
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('id: ')) id = Number(line.slice(4));
      else if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (data.length) out.push({ id, event, data: JSON.parse(data.join('\n')), at });
  }
  return out;
}

/**
 * Reads a Server-Sent Events response as it arrives (supertest would wait for its end), noting
 * when each event came. Resolves when the server ends the stream, or after timeoutMs.
 */
export function readSse(
  url: string,
  headers: Record<string, string>,
  timeoutMs = 15000,
): Promise<{ status: number; headers: Record<string, unknown>; events: SseEvent[]; ended: boolean }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      const events: SseEvent[] = [];
      let buffer = '';
      const timer = setTimeout(() => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, events, ended: false });
      }, timeoutMs);
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        const cut = buffer.lastIndexOf('\n\n');
        if (cut === -1) return;
        events.push(...parseSse(buffer.slice(0, cut), Date.now() - started));
        buffer = buffer.slice(cut + 2);
      });
      res.on('end', () => {
        clearTimeout(timer);
        events.push(...parseSse(buffer, Date.now() - started));
        resolve({ status: res.statusCode ?? 0, headers: res.headers, events, ended: true });
      });
    });
    req.on('error', reject);
    req.end();
  });
}
