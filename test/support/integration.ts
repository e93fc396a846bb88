import { randomBytes } from 'node:crypto';
import { DynamicModule, Type } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import Redis from 'ioredis';
import { Client } from 'pg';
import { AppConfig, CoreModule, loadConfig, maxScopesFor, newId, Principal, Role } from '@app/core';
import { deleteKeys, PG_BASE, readState, REDIS_URL } from './env';

/**
 * One integration test file's world: its own copy of the migrated template database, its own
 * Redis key prefix, and a Nest TestingModule of CoreModule plus the library modules under test.
 * No HTTP and no worker: the tests call the services' public methods.
 */
export class IntegrationContext {
  private pg: Client | null = null;

  private constructor(
    readonly module: TestingModule,
    readonly config: AppConfig,
    readonly dbName: string,
  ) {}

  /** `imports`: the library modules under test (CoreModule is always there). */
  static async start(imports: Array<Type | DynamicModule>, env: Record<string, string> = {}) {
    const { runId, templateDb } = readState();
    const tag = randomBytes(4).toString('hex');
    // The names global teardown looks for: a file that dies leaves nothing behind the run.
    const dbName = `cocode_e2e_int_${tag}_${runId}`;
    const admin = new Client({ connectionString: `${PG_BASE}/postgres` });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${dbName}" TEMPLATE "${templateDb}"`).finally(() => admin.end());
    const config = loadConfig({
      NODE_ENV: 'test',
      DATABASE_URL: `${PG_BASE}/${dbName}`,
      DATABASE_POOL_SIZE: '4',
      REDIS_URL,
      REDIS_PREFIX: `e2e:${runId}:${tag}`,
      LOG_LEVEL: 'warn',
      ...env,
    });
    const module = await Test.createTestingModule({ imports: [CoreModule, ...imports] })
      .overrideProvider(AppConfig)
      .useValue(config)
      .compile();
    await module.init();
    return new IntegrationContext(module, config, dbName);
  }

  get<T>(type: Type<T>): T {
    return this.module.get(type, { strict: false });
  }

  /** Direct SQL on this file's database: fixtures, and what the services' answers do not show. */
  async sql<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
    if (!this.pg) {
      this.pg = new Client({ connectionString: `${PG_BASE}/${this.dbName}` });
      await this.pg.connect();
    }
    return (await this.pg.query(text, params)).rows as T[];
  }

  /** An active user of `role` in the database, and the principal of a token of theirs (all its role's scopes). */
  async user(role: Role): Promise<Principal> {
    const id = newId('user');
    const username = `${role.slice(0, 8)}_${randomBytes(3).toString('hex')}`;
    await this.sql(
      `INSERT INTO users (id, username, email, full_name, role, status, password_hash)
       VALUES ($1, $2, $3, $4, $5, 'active', 'not-a-hash')`,
      [id, username, `${username}@example.com`, username, role],
    );
    return new Principal(
      id,
      username,
      role,
      maxScopesFor(role),
      'free',
      `jti_${username}`,
      new Date(Date.now() + 3600_000),
      null,
    );
  }

  /** A project owned by `owner`, with these other members, straight into the database. */
  async project(
    owner: Principal,
    members: Principal[] = [],
    fields: { visibility?: 'private' | 'internal' | 'public'; status?: 'active' | 'archived' } = {},
  ): Promise<{ id: string; key: string }> {
    const id = newId('project');
    const key = `P${randomBytes(3).toString('hex').toUpperCase()}`;
    const status = fields.status ?? 'active';
    await this.sql(
      `INSERT INTO projects (id, name, key, owner_id, status, visibility, archived_at)
       VALUES ($1, $2, $2, $3, $4, $5, $6)`,
      [
        id,
        key,
        owner.userId,
        status,
        fields.visibility ?? 'private',
        status === 'archived' ? new Date() : null,
      ],
    );
    await this.sql(`INSERT INTO project_stats (project_id) VALUES ($1)`, [id]);
    await this.sql(
      `INSERT INTO project_members (project_id, user_id, role)
       SELECT $1, u, CASE WHEN u = $2 THEN 'owner' ELSE 'member' END FROM unnest($3::text[]) AS u`,
      [id, owner.userId, [owner.userId, ...members.map((m) => m.userId)]],
    );
    return { id, key };
  }

  async stop(): Promise<void> {
    await this.module.close();
    await this.pg?.end().catch(() => undefined);
    const redis = new Redis(REDIS_URL);
    await deleteKeys(redis, `${this.config.redis.prefix}:*`).finally(() => redis.disconnect());
    const admin = new Client({ connectionString: `${PG_BASE}/postgres` });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${this.dbName}" WITH (FORCE)`).finally(() => admin.end());
  }
}

/** The AppError a call rejects with, as plain data to compare: code, status, message, details. */
export async function rejection(call: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await call;
  } catch (err) {
    const e = err as { code?: unknown; status?: unknown; message?: unknown; details?: unknown };
    return { code: e.code, status: e.status, message: e.message, details: e.details };
  }
  throw new Error('expected the call to fail, and it succeeded');
}
