import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { Client } from 'pg';
import request from 'supertest';
import TestAgent from 'supertest/lib/agent';
import { GATEWAY_ONLY_SETTINGS } from '../../libs/core/src/config/app-config';
import { deleteKeys, PG_BASE, readState, REDIS_URL, ROOT } from './env';

export const CLIENT_ID = 'e2e_client';
export const CLIENT_SECRET = 'e2e_client_secret_0123456789';
export const ADMIN_USERNAME = 'admin';
export const ADMIN_PASSWORD = 'AdminPass123';
export const JWT_SECRET = 'e2e-secret-that-is-long-enough-0123456789';
/** GET /metrics is closed outside development without it: `.auth(METRICS_TOKEN, {type: 'bearer'})`. */
export const METRICS_TOKEN = 'e2e-metrics-token-0123456789';

/**
 * The suites make many requests per file, as free-tier users and all from 127.0.0.1, so the
 * harness raises every rate limit far above that (the limiter still runs on every request).
 * test/e2e/rate-limits.e2e-spec.ts puts the real ones back with SEED_RATE_LIMITS.
 */
export const HARNESS_RATE_LIMITS: Record<string, string> = Object.fromEntries(
  ['FREE', 'PRO', 'ENTERPRISE', 'IP'].flatMap((scope) => [
    [`RATE_LIMIT_${scope}_PER_MINUTE`, '1000000'],
    [`RATE_LIMIT_${scope}_PER_HOUR`, '100000000'],
    [`RATE_LIMIT_${scope}_CONCURRENT`, '10000'],
  ]),
);
/** For SystemOptions.env: the configured defaults (the seed's table) instead of the harness's limits. */
export const SEED_RATE_LIMITS: Record<string, string> = Object.fromEntries(
  Object.keys(HARNESS_RATE_LIMITS).map((name) => [name, '']),
);

/** As in production: the worker holds no signing secret or bootstrap credential. */
const workerEnvironment = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv =>
  Object.fromEntries(
    Object.entries(env).filter(([k]) => !(GATEWAY_ONLY_SETTINGS as readonly string[]).includes(k)),
  );

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function waitReady(
  url: string,
  child: ChildProcess,
  output: () => string,
  timeoutMs = 20000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`process exited (${child.exitCode}) before it was ready:\n${output()}`);
    try {
      const res = await fetch(url);
      if (res.status === 200) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms:\n${output()}`);
}

class AppProcess {
  child: ChildProcess | null = null;
  private log = '';

  constructor(
    readonly name: 'gateway' | 'worker',
    readonly port: number,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  output(): string {
    return this.log.slice(-8000);
  }

  async start(): Promise<void> {
    this.log = '';
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'apps', this.name, 'src', 'main.js')], {
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (this.log += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    this.child = child;
    await waitReady(`${this.url}/health/ready`, child, () => this.output());
  }

  /** SIGKILL: the process dies mid-work, as in a crash. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
    this.child = null;
  }
}

/** A signed-in user: what TestSystem.userWithRole answers. */
export type Session = { id: string; username: string; password: string; token: string };

/** A project as POST /v2/projects answers it. */
export type Project = { id: string; key: string; name: string; ownerId: string; [field: string]: unknown };

/** What TestSystem.project sends: `name` defaults to the key. */
export type ProjectFields = {
  key: string;
  ownerId: string;
  name?: string;
  members?: string[];
  visibility?: string;
};

/** The statuses a build, a test run and a deployment end in (TestSystem.settled waits for one). */
export const BUILD_DONE = ['success', 'failed', 'cancelled'];
export const TEST_RUN_DONE = ['passed', 'failed', 'error'];
export const DEPLOYMENT_DONE = ['succeeded', 'failed', 'rejected', 'rolled_back'];

export interface SystemOptions {
  env?: Record<string, string>;
  /** Start the worker too (default true). */
  worker?: boolean;
  /** Let the test wire DATABASE_URL / REDIS_URL itself (e.g. through a TcpProxy). */
  databaseUrl?: (dbName: string) => string;
  redisUrl?: string;
}

/**
 * A whole system for one test file: its own database (a copy of the migrated template), its
 * own Redis key prefix, a gateway and a worker as real processes from dist/.
 */
export class TestSystem {
  readonly dbName: string;
  readonly prefix: string;
  gateway!: AppProcess;
  worker!: AppProcess;
  http!: TestAgent;
  private adminTokenCache: string | null = null;
  private env: NodeJS.ProcessEnv = {};
  private readonly extraProcesses: AppProcess[] = [];
  private pg: Client | null = null;
  private redisClient: Redis | null = null;
  private readonly queues = new Map<string, Queue>();

  private constructor(private readonly options: SystemOptions) {
    const tag = randomBytes(4).toString('hex');
    this.dbName = `cocode_e2e_${tag}_${readState().runId}`;
    // The run id first: global teardown removes a run's keys that a killed file left behind.
    this.prefix = `e2e:${readState().runId}:${tag}`;
  }

  static async start(options: SystemOptions = {}): Promise<TestSystem> {
    const system = new TestSystem(options);
    await system.boot();
    return system;
  }

  private async boot(): Promise<void> {
    const admin = new Client({ connectionString: `${PG_BASE}/postgres` });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${this.dbName}" TEMPLATE "${readState().templateDb}"`);
    await admin.end();
    const [gatewayPort, workerPort] = [await freePort(), await freePort()];
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(gatewayPort),
      WORKER_PORT: String(workerPort),
      DATABASE_URL: this.options.databaseUrl?.(this.dbName) ?? `${PG_BASE}/${this.dbName}`,
      REDIS_URL: this.options.redisUrl ?? REDIS_URL,
      REDIS_PREFIX: this.prefix,
      JWT_SECRET,
      METRICS_TOKEN,
      BOOTSTRAP_ADMIN_USERNAME: ADMIN_USERNAME,
      BOOTSTRAP_ADMIN_EMAIL: 'admin@example.com',
      BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD,
      BOOTSTRAP_CLIENT_ID: CLIENT_ID,
      BOOTSTRAP_CLIENT_SECRET: CLIENT_SECRET,
      LOG_LEVEL: 'warn',
      OUTBOX_SWEEP_INTERVAL_MS: '500',
      ...HARNESS_RATE_LIMITS,
      // Every suite signs in from 127.0.0.1: only the per-account lockouts apply unless a suite
      // asks for this one (test/e2e/auth.e2e-spec.ts does).
      AUTH_LOGIN_IP_FAILURE_LIMIT: '100000',
      ...this.options.env,
    };
    this.env = env;
    this.gateway = new AppProcess('gateway', gatewayPort, env);
    this.worker = new AppProcess('worker', workerPort, workerEnvironment(env));
    await Promise.all([
      this.gateway.start(),
      this.options.worker === false ? undefined : this.worker.start(),
    ]);
    this.http = request(this.gateway.url);
  }

  /** The environment the gateway runs with (its database, Redis and prefix), for CLI tools. */
  get gatewayEnv(): NodeJS.ProcessEnv {
    return { ...this.env };
  }

  /** One more gateway process on the same database and Redis prefix, as a second replica behind a load balancer. */
  async startGateway(): Promise<{ url: string; http: TestAgent }> {
    const port = await freePort();
    const gateway = new AppProcess('gateway', port, { ...this.env, PORT: String(port) });
    this.extraProcesses.push(gateway);
    await gateway.start();
    return { url: gateway.url, http: request(gateway.url) };
  }

  /** One more worker process on the same database and Redis prefix (its own health port). */
  async startWorker(extraEnv: Record<string, string> = {}): Promise<AppProcess> {
    const port = await freePort();
    const worker = new AppProcess('worker', port, {
      ...workerEnvironment(this.env),
      ...extraEnv,
      WORKER_PORT: String(port),
    });
    this.extraProcesses.push(worker);
    await worker.start();
    return worker;
  }

  async stop(): Promise<void> {
    await Promise.all([
      this.gateway?.kill('SIGTERM'),
      this.worker?.kill('SIGTERM'),
      ...this.extraProcesses.map((p) => p.kill('SIGTERM')),
    ]);
    await this.pg?.end().catch(() => undefined);
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => undefined)));
    // Everything the system wrote to Redis is under its prefix: remove it, also when the test
    // itself never looked at Redis.
    await deleteKeys(this.redis, `${this.prefix}:*`);
    this.redisClient?.disconnect();
    const admin = new Client({ connectionString: `${PG_BASE}/postgres` });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${this.dbName}" WITH (FORCE)`);
    await admin.end();
  }

  /** Direct SQL on this system's database, to check what the API cannot show. */
  async sql<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
    if (!this.pg) {
      this.pg = new Client({ connectionString: `${PG_BASE}/${this.dbName}` });
      await this.pg.connect();
    }
    return (await this.pg.query(text, params)).rows as T[];
  }

  get redis(): Redis {
    this.redisClient ??= new Redis(REDIS_URL);
    return this.redisClient;
  }

  /**
   * One of this system's BullMQ queues (under its Redis prefix), to look at its jobs or lose them
   * as a Redis restart without persistence does (`obliterate({ force: true })`).
   */
  queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: { url: REDIS_URL }, prefix: `${this.prefix}:bull` });
      this.queues.set(name, queue);
    }
    return queue;
  }

  async token(body: Record<string, string>): Promise<string> {
    const res = await this.http
      .post('/v2/auth/token')
      .send({ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, ...body });
    if (res.status !== 200)
      throw new Error(`token request failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.access_token as string;
  }

  async adminToken(): Promise<string> {
    this.adminTokenCache ??= await this.token({
      grant_type: 'password',
      username: ADMIN_USERNAME,
      password: ADMIN_PASSWORD,
    });
    return this.adminTokenCache;
  }

  /** Requests to the gateway as the bearer of `token`; a body is sent as JSON. */
  as(token: string) {
    const http = this.http;
    return {
      get: (url: string) => http.get(url).auth(token, { type: 'bearer' }),
      post: (url: string, body?: object) => http.post(url).auth(token, { type: 'bearer' }).send(body),
      put: (url: string, body?: object) => http.put(url).auth(token, { type: 'bearer' }).send(body),
      delete: (url: string) => http.delete(url).auth(token, { type: 'bearer' }),
    };
  }

  /** A project made through POST /v2/projects as `token` (the admin's by default). */
  async project(fields: ProjectFields, token?: string): Promise<Project> {
    const res = await this.as(token ?? (await this.adminToken()))
      .post('/v2/projects', { name: fields.key, ...fields })
      .expect(201);
    return res.body as Project;
  }

  /** A pipeline made through POST /v2/pipelines as `token` (a devops member's, say). */
  async pipeline(
    token: string,
    body: Record<string, unknown>,
  ): Promise<{ id: string; [field: string]: unknown }> {
    return (await this.as(token).post('/v2/pipelines', body).expect(201)).body;
  }

  /**
   * Gives the project its repository and the pipeline that builds it (made after the repository,
   * so that it follows it), as `token`: the set-up of the agents that write code. The pipeline.
   */
  async repository(
    token: string,
    projectId: string,
    url: string,
    pipeline: Record<string, unknown>,
  ): Promise<{ id: string; [field: string]: unknown }> {
    await this.as(token)
      .put(`/v2/projects/${projectId}`, { repository: { url, defaultBranch: 'main' } })
      .expect(200);
    const made = await this.pipeline(token, { projectId, name: 'ci', ...pipeline });
    await this.as(token)
      .put(`/v2/projects/${projectId}`, { repository: { url, defaultBranch: 'main', pipelineId: made.id } })
      .expect(200);
    return made;
  }

  /** Polls GET `url` as `token` until the row's status is one of `done`; the whole row (a failure says why). */
  settled<T extends { status: string }>(
    token: string,
    url: string,
    done: string[],
    timeoutMs = 15000,
  ): Promise<T> {
    return eventually(async () => {
      const row = (await this.as(token).get(url).expect(200)).body as T;
      return done.includes(row.status) ? row : null;
    }, timeoutMs);
  }

  /** Active users of these roles, made at once (see userWithRole). */
  users(...roles: string[]): Promise<Session[]> {
    return Promise.all(roles.map((role) => this.userWithRole(role)));
  }

  /** An active user of the given role (created and activated by the admin) and a token for them. */
  async userWithRole(role: string, overrides: Record<string, string> = {}): Promise<Session> {
    const admin = await this.adminToken();
    const tag = randomBytes(4).toString('hex');
    const username = overrides.username ?? `${role.slice(0, 8)}_${tag}`;
    const password = overrides.password ?? `Passw0rd${tag}`;
    const created = await this.http
      .post('/v2/users')
      .auth(admin, { type: 'bearer' })
      .send({ username, email: `${username}@example.com`, password, fullName: `${role} ${tag}`, role });
    if (created.status !== 201)
      throw new Error(`user creation failed: ${created.status} ${JSON.stringify(created.body)}`);
    const activated = await this.http
      .put(`/v2/users/${created.body.id}`)
      .auth(admin, { type: 'bearer' })
      .send({ status: 'active' });
    if (activated.status !== 200)
      throw new Error(`activation failed: ${activated.status} ${JSON.stringify(activated.body)}`);
    const token = await this.token({ grant_type: 'password', username, password });
    return { id: created.body.id as string, username, password, token };
  }
}

/** Polls until fn returns a truthy value (or throws after timeoutMs). */
export async function eventually<T>(
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs = 10000,
  stepMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
}

/** Asserts the seed's error envelope and returns its error object. */
export function expectEnvelope(
  body: unknown,
  code: string,
): { code: string; message: string; details: Record<string, unknown>; requestId: string; timestamp: string } {
  const error = (body as { error?: Record<string, unknown> }).error;
  expect(error).toBeDefined();
  expect(error).toEqual(
    expect.objectContaining({
      code,
      message: expect.any(String),
      details: expect.any(Object),
      requestId: expect.any(String),
      timestamp: expect.any(String),
    }),
  );
  expect(Object.keys(body as object)).toEqual(['error']);
  return error as never;
}
