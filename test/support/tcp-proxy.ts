import { createServer, Server, Socket, connect } from 'node:net';

/**
 * A proxy in front of the server of `url` (TEST_PG_URL, TEST_REDIS_URL), and `url` rewritten to go
 * through it, keeping its user, password, database and path.
 */
export function proxyFor(url: string, defaultPort: number): { proxy: TcpProxy; via: () => string } {
  const target = new URL(url);
  const proxy = new TcpProxy(target.hostname, Number(target.port || defaultPort));
  const via = () => {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(proxy.port);
    return u.toString().replace(/\/$/, '');
  };
  return { proxy, via };
}

/** A TCP proxy on loopback that a test can cut, to see how the system behaves when PostgreSQL or Redis goes away. */
export class TcpProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(port = 0): Promise<number> {
    this.server = createServer((client) => {
      const upstream = connect(this.targetPort, this.targetHost);
      this.sockets.add(client).add(upstream);
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this.port;
  }

  /** Cuts every connection and refuses new ones. */
  async cut(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = null;
  }

  /** Accepts connections again on the same port. */
  async restore(): Promise<void> {
    await this.start(this.port);
  }
}
