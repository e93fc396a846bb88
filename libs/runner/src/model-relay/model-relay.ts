import { Logger } from '@nestjs/common';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import {
  ClientRequest,
  createServer,
  IncomingHttpHeaders,
  IncomingMessage,
  request,
  Server,
  ServerResponse,
} from 'node:http';
import { request as requestTls } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The only calls the relay forwards (any query string): the Messages API and its token counter. */
export const MODEL_RELAY_PATHS: readonly string[] = ['/v1/messages', '/v1/messages/count_tokens'];

/** The Messages API's own request size limit. */
export const MODEL_RELAY_MAX_BODY_BYTES = 32 * 2 ** 20;

/** Hop-by-hop headers, and what the relay sets itself: never passed on in either direction. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'host',
  'content-length',
]);
/** Credentials from inside the sandbox: dropped, the relay adds the real key. */
const CREDENTIALS = new Set(['x-api-key', 'authorization']);

export interface ModelRelayOptions {
  /** The Messages API's base URL (ANTHROPIC_BASE_URL; a path prefix is kept). */
  upstream: string;
  /** The real key, added to every forwarded call; never written to disk or logs. */
  apiKey: string;
  /** For logs: the session (job) this relay serves. */
  sessionId: string;
  /** Where the session's directory is made (default: the system temp directory). */
  parentDir?: string;
  /** Who may connect besides this process (the sandbox's uid when the worker is root). */
  owner?: { uid: number; gid: number };
  /** Larger request bodies are refused with 413 (default MODEL_RELAY_MAX_BODY_BYTES). */
  maxBodyBytes?: number;
}

export interface ModelRelayStats {
  /** Requests received, forwarded or not. */
  requests: number;
  /** Requests answered by the relay itself (wrong path, too large, upstream unreachable). */
  refused: number;
  /** Request body bytes forwarded upstream. */
  bytesUp: number;
  /** Response body bytes passed back from upstream. */
  bytesDown: number;
}

/**
 * One sandboxed session's way to the model: an HTTP server on a unix socket in a directory of its
 * own, bound into the sandbox (which has no network). It forwards only POST /v1/messages and
 * /v1/messages/count_tokens to the upstream, replacing whatever credentials came from inside
 * with the real key, and passes responses through as they arrive (server-sent events unbuffered).
 * Everything else is answered 403. `stop()` aborts open calls and removes the socket.
 */
export class ModelRelay {
  private readonly logger = new Logger(ModelRelay.name);
  private readonly upstream: URL;
  private readonly maxBodyBytes: number;
  private readonly open = new Set<ClientRequest>();
  private readonly counts: ModelRelayStats = { requests: 0, refused: 0, bytesUp: 0, bytesDown: 0 };
  private stopped: Promise<void> | null = null;

  private constructor(
    private readonly opts: ModelRelayOptions,
    private readonly server: Server,
    /** The session's directory (holds only the socket). */
    readonly dir: string,
  ) {
    this.upstream = new URL(opts.upstream);
    if (this.upstream.protocol !== 'http:' && this.upstream.protocol !== 'https:')
      throw new Error(`model relay: the upstream must be http(s) (got ${this.upstream.protocol})`);
    this.maxBodyBytes = opts.maxBodyBytes ?? MODEL_RELAY_MAX_BODY_BYTES;
  }

  /** Listens on `<dir>/model.sock`, connectable by this process and `owner` only. */
  static async start(opts: ModelRelayOptions): Promise<ModelRelay> {
    // mkdtemp: 0700 until the socket's own mode and owner are set.
    const dir = await mkdtemp(join(opts.parentDir ?? tmpdir(), 'cocode-relay-'));
    const server = createServer();
    let relay: ModelRelay;
    try {
      relay = new ModelRelay(opts, server, dir);
      server.on('request', (req: IncomingMessage, res: ServerResponse) => relay.handle(req, res));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(relay.socketPath, () => {
          server.off('error', reject);
          resolve();
        });
      });
      await chmod(relay.socketPath, 0o600);
      if (opts.owner) await chown(relay.socketPath, opts.owner.uid, opts.owner.gid);
      // Searchable, not listable: the socket is reached by its path only.
      await chmod(dir, 0o711);
    } catch (e) {
      server.close();
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
    return relay;
  }

  get socketPath(): string {
    return join(this.dir, 'model.sock');
  }

  stats(): ModelRelayStats {
    return { ...this.counts };
  }

  /** Aborts open calls, closes the socket and removes the session's directory. Idempotent. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      for (const call of this.open) call.destroy();
      this.server.closeAllConnections();
      await new Promise<void>((resolve) => this.server.close(() => resolve()));
      await rm(this.dir, { recursive: true, force: true });
      this.logger.log({ msg: 'model relay closed', sessionId: this.opts.sessionId, ...this.counts });
    })();
    return this.stopped;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.counts.requests++;
    let url: URL | null = null;
    try {
      // Normalised: /v1/messages/../models is /v1/models, and refused.
      url = new URL(req.url ?? '/', 'http://relay');
    } catch {
      url = null;
    }
    const allowed = req.method === 'POST' && url !== null && MODEL_RELAY_PATHS.includes(url.pathname);
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > this.maxBodyBytes) return this.tooLarge(req, res);

    // The body is read (up to the cap) before any answer, refusals too: a client keeping its
    // connection alive must not find it closed under its next request.
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > this.maxBodyBytes) {
        over = true;
        chunks.length = 0;
        this.tooLarge(req, res);
      } else if (allowed) chunks.push(chunk);
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      if (over || res.destroyed) return;
      if (allowed && url) return this.forward(req, res, url, Buffer.concat(chunks));
      this.refuse(
        req,
        res,
        403,
        'permission_error',
        `model relay: only POST ${MODEL_RELAY_PATHS.join(' and ')} are forwarded`,
      );
    });
  }

  private forward(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): void {
    const base = this.upstream.pathname.replace(/\/+$/, '');
    const target = new URL(`${base}${url.pathname}${url.search}`, this.upstream);
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers))
      if (value !== undefined && !HOP_BY_HOP.has(name) && !CREDENTIALS.has(name)) headers[name] = value;
    headers['x-api-key'] = this.opts.apiKey;
    headers['content-length'] = String(body.length);

    const call = (target.protocol === 'https:' ? requestTls : request)(target, { method: 'POST', headers });
    this.open.add(call);
    this.counts.bytesUp += body.length;
    call.on('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, passOn(answer.headers));
      // The status and headers now, each chunk of the body as it comes (server-sent events).
      res.flushHeaders();
      answer.on('data', (chunk: Buffer) => (this.counts.bytesDown += chunk.length));
      answer.on('error', () => res.destroy());
      answer.on('aborted', () => res.destroy());
      answer.pipe(res);
    });
    call.on('error', (err) => {
      this.open.delete(call);
      if (res.headersSent) return void res.destroy();
      this.refuse(
        req,
        res,
        502,
        'api_error',
        `model relay: the model API cannot be reached (${err.message})`,
      );
    });
    call.on('close', () => this.open.delete(call));
    // The sandboxed client went away: so does its call.
    res.on('close', () => {
      if (!res.writableFinished) call.destroy();
      this.logger.debug({
        msg: 'model relay call',
        sessionId: this.opts.sessionId,
        path: url.pathname,
        status: res.statusCode,
        complete: res.writableFinished,
      });
    });
    call.end(body);
  }

  private tooLarge(req: IncomingMessage, res: ServerResponse): void {
    this.refuse(
      req,
      res,
      413,
      'request_too_large',
      `model relay: the request body is larger than ${this.maxBodyBytes} bytes`,
      true,
    );
  }

  /** An answer of the relay's own, in the Messages API's error shape. */
  private refuse(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    type: string,
    message: string,
    close = false,
  ): void {
    this.counts.refused++;
    this.logger.warn({
      msg: 'model relay refused a request',
      sessionId: this.opts.sessionId,
      method: req.method,
      path: (req.url ?? '').slice(0, 200),
      status,
    });
    if (res.headersSent || res.destroyed) return;
    const text = JSON.stringify({ type: 'error', error: { type, message } });
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      ...(close ? { connection: 'close' } : {}),
    });
    // The rest of a refused body is not read: the connection ends once the answer is out.
    res.end(text, () => {
      if (close) req.socket.destroySoon();
    });
  }
}

function passOn(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers))
    if (value !== undefined && (!HOP_BY_HOP.has(name) || name === 'content-length')) out[name] = value;
  return out;
}
