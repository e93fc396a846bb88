import { createServer, IncomingHttpHeaders, Server } from 'node:http';

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

type Responder = (
  req: Received,
  count: number,
) => { status: number; headers?: Record<string, string>; body?: string; delayMs?: number };

/** A real HTTP receiver on loopback that records every request and answers as each path is told to. */
export class Receiver {
  readonly received: Received[] = [];
  private readonly responders = new Map<string, Responder>();
  private readonly counts = new Map<string, number>();
  private server: Server | null = null;
  port = 0;

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  on(path: string, responder: Responder): this {
    this.responders.set(path, responder);
    return this;
  }

  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const path = req.url ?? '/';
        const record = { path, headers: req.headers, body, at: Date.now() };
        this.received.push(record);
        const count = (this.counts.get(path) ?? 0) + 1;
        this.counts.set(path, count);
        const responder: Responder = this.responders.get(path) ?? (() => ({ status: 200 }));
        const answer = responder(record, count);
        setTimeout(() => {
          if (res.destroyed) return;
          res.writeHead(answer.status, answer.headers);
          res.end(answer.body ?? 'ok');
        }, answer.delayMs ?? 0);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
