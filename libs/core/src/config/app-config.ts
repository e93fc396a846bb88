import { createHash, randomBytes } from 'node:crypto';
import { availableParallelism, tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { MetricsAccess } from '../metrics/metrics-access';

export type JwtAlgorithm = 'HS256' | 'HS384' | 'HS512' | 'RS256' | 'ES256';
const JWT_ALGORITHMS: readonly JwtAlgorithm[] = ['HS256', 'HS384', 'HS512', 'RS256', 'ES256'];
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The whole configuration, validated once at start-up. Nothing else reads process.env. */
export class AppConfig {
  env: 'development' | 'test' | 'production';
  http: {
    host: string;
    port: number;
    publicBaseUrl: string;
    /** PUBLIC_BASE_URL was set (publicBaseUrl is otherwise a guess: http://localhost:PORT). */
    publicBaseUrlSet?: boolean;
    trustProxy: boolean;
  };
  /** GET /metrics on the gateway and worker ports: METRICS_TOKEN, or open in development only. */
  metrics: MetricsAccess;
  worker: { port: number; concurrency: number };
  database: { url: string; poolSize: number; runMigrations: boolean };
  redis: { url: string; prefix: string };
  jwt: {
    algorithm: JwtAlgorithm;
    secret?: string;
    privateKey?: string;
    publicKey?: string;
    issuer: string;
    audience: string;
    accessTtlSeconds: number;
    clockSkewSeconds: number;
    /** True when no JWT_SECRET was given and a per-process one was made (development only). */
    secretGenerated: boolean;
  };
  auth: {
    refreshTtlDays: number;
    principalCacheMs: number;
    maxConcurrentHashes: number;
    /** Failed password logins per account and IP within the window. */
    loginFailureLimit: number;
    /** ... per account from any IP. */
    loginAccountFailureLimit: number;
    /** ... per IP over all accounts. */
    loginIpFailureLimit: number;
    loginFailureWindowSeconds: number;
    emailVerificationTtlHours: number;
  };
  bootstrap: {
    adminUsername: string;
    adminEmail: string;
    adminPassword?: string;
    clientId?: string;
    clientSecret?: string;
  };
  mail: { smtpUrl?: string; from: string };
  log: { level: (typeof LOG_LEVELS)[number]; requests: boolean };
  outbox: { sweepIntervalMs: number; batchSize: number };
  queues: {
    /**
     * A build, test run or deployment still `queued` this long after it was queued, whose job is
     * not in its queue (Redis lost it), is enqueued again by the sweeps.
     */
    reconcileAfterSeconds: number;
  };
  idempotency: { ttlHours: number; lockSeconds: number };
  rateLimit: {
    /** false: no limiter at all (no Redis calls, no rate-limit headers). */
    enabled: boolean;
    /** By the tier of the caller's user (an API client's owner). */
    tiers: Record<'free' | 'pro' | 'enterprise', RateLimits>;
    /** Unauthenticated calls (token, refresh, revoke, verify-email), per client IP. */
    ip: RateLimits;
    /** How long an in-flight entry counts when its release never came (a crashed gateway). */
    inFlightTtlSeconds: number;
    /** A Redis answer slower than this lets the request through (fail open). */
    redisTimeoutMs: number;
  };
  agents: {
    /** template: offline; anthropic: Claude (needs ANTHROPIC_API_KEY); auto: anthropic when a key is set. */
    provider: 'anthropic' | 'template';
    anthropicApiKey?: string;
    anthropicBaseUrl?: string;
    defaultModel: string;
    /** Model names clients may use (the seed's claude-sonnet-4) -> model ids sent to the API. */
    modelAliases: Record<string, string>;
    maxTokens: number;
    timeoutMs: number;
    maxRetries: number;
    /** Activations in flight per worker: steps wait on the model, so many at once. */
    concurrency: number;
    /** How long a worker holds an activation without a heartbeat before another may take it over. */
    leaseMs: number;
    /** USD per million tokens by model id prefix (AGENTS_MODEL_PRICES): what an activation costs. */
    modelPrices: Record<string, { input: number; output: number; cacheRead: number }>;
    /** Claude Code's CLI (CLAUDE_CODE_EXECUTABLE); default: the SDK's binary for this platform, if installed. */
    claudeCodeExecutable?: string;
    /**
     * A code session's default limits (config.budget overrides them per activation), and how many
     * Claude Code sessions a worker runs at once (each CLI is CPU-heavy; the rest wait their turn).
     */
    codeSession: { maxTurns: number; timeoutSeconds: number; perWorker: number };
  };
  webhooks: {
    /** Deliver to loopback/private/link-local addresses (local development and tests only). */
    allowPrivate: boolean;
    timeoutMs: number;
    maxAttempts: number;
    /** First retry delay; each next one is 3x longer (with jitter): ~8 tries over a day by default. */
    retryBaseMs: number;
    /** A webhook failing without a success for this long is disabled. */
    disableAfterSeconds: number;
    concurrency: number;
    /** How often the worker takes over deliveries whose attempt's lease lapsed (and overdue ones). */
    sweepIntervalMs: number;
  };
  deployments: {
    /** Deployments run at once per worker (each holds its slot for its whole plan). */
    concurrency: number;
    /** A script step's process group is killed after this long. */
    scriptTimeoutMs: number;
    /** One call of a webhook target. */
    webhookTimeoutMs: number;
    /** Instances updated per rolling batch: the plan has this many batches. */
    rollingBatches: number;
    /** Wait before each health check attempt (the new version soaks meanwhile). */
    healthCheckIntervalMs: number;
    healthCheckAttempts: number;
    /** A running deployment's lease; a worker that dies lets it lapse and another resumes. */
    leaseSeconds: number;
    sweepIntervalMs: number;
    /** Resumes after lost workers before the deployment is failed. */
    maxResumes: number;
  };
  builds: {
    /** Every build and test-run workspace is made under this directory, and removed afterwards. */
    workspaceRoot: string;
    /** Builds run at once per worker. */
    concurrency: number;
    /** A stage without timeoutSeconds gets this. */
    defaultStageTimeoutSeconds: number;
    cloneTimeoutSeconds: number;
    /** A running build's lease; a worker renews it every third of it, a sweep fails builds whose lease ran out. */
    leaseSeconds: number;
    sweepIntervalMs: number;
    /** Stored log per build; beyond it the log is cut with a note. */
    maxLogBytes: number;
    /** Stored artifacts per build. */
    maxArtifactBytes: number;
  };
  /** Where files the gateway serves (build artifacts) are kept: workers put them, gateways stream them. */
  fileStore: FileStoreConfig;
  sandbox: SandboxConfig;
  /** Roots a file:// repository URL may point into (resolved, symbolic links included); empty: file:// is refused. */
  gitFileRoots: string[];
  /** Secrets the platform keeps for users (repository credentials), encrypted at rest. */
  secrets: {
    /** AES-256-GCM key (32 bytes): gateways seal with it, workers open with it, so all must share it. */
    encryptionKey: Buffer;
    /** True when SECRETS_ENCRYPTION_KEY was not given and the fixed development key is used (never in production). */
    keyDerived: boolean;
  };
  tests: {
    /** Directories a suite's workingDirectory may be in; empty: no suite may use a workingDirectory. */
    workingDirectoryRoots: string[];
    /** Test runs at once per worker. */
    concurrency: number;
    defaultTimeoutSeconds: number;
    maxReportBytes: number;
  };
}

/**
 * postgres: chunks in the application's database (nothing more to run); s3: an S3-compatible
 * bucket (AWS, MinIO, ...). Either way no disk is shared between gateways and workers.
 */
export type FileStoreConfig =
  | { kind: 'postgres' }
  | {
      kind: 's3';
      bucket: string;
      region: string;
      /** Unset: AWS's own endpoint for the region. */
      endpoint?: string;
      /** Both or neither; neither: the SDK's default chain (environment, instance role, ...). */
      accessKeyId?: string;
      secretAccessKey?: string;
      /** http://host/bucket/key instead of http://bucket.host/key (MinIO, s3rver). */
      forcePathStyle: boolean;
    };

/** How every untrusted command (stages, test commands, deploy scripts, git) is run. */
export interface SandboxConfig {
  /** bwrap: bubblewrap namespaces + limits; none: on the host, as the worker (development only). */
  executor: 'bwrap' | 'none';
  /** SANDBOX=none accepted in production (SANDBOX_UNSAFE_HOST=true). */
  unsafeHost: boolean;
  /** The uid/gid commands run as (inside, and on the host when the worker runs as root). */
  uid: number;
  gid: number;
  /** PATH inside the sandbox. */
  path: string;
  limits: SandboxLimits;
  /** How often the workspace's size and the job's CPU time are looked at. */
  checkIntervalMs: number;
}

/** Per job (one command and everything it starts). */
export interface SandboxLimits {
  memoryBytes: number;
  processes: number;
  cpuSeconds: number;
  diskBytes: number;
  outputBytes: number;
}

/** One rate-limit policy: token buckets of this many requests per minute and per hour, and requests in flight. */
export interface RateLimits {
  perMinute: number;
  perHour: number;
  concurrent: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** The seed says claude-sonnet-4; these map such names to model ids (AGENTS_MODEL_ALIASES overrides). */
const DEFAULT_MODEL_ALIASES =
  'claude-sonnet-4=claude-sonnet-4-20250514,claude-opus-4=claude-opus-4-20250514,claude-sonnet-4.5=claude-sonnet-4-5,claude-haiku=claude-haiku-4-5';

/** Anthropic's list prices (USD per million tokens: input/output/cache read), by model id prefix. */
const DEFAULT_MODEL_PRICES =
  'claude-opus-4=15/75/1.5,claude-sonnet-4=3/15/0.3,claude-haiku-4=1/5/0.1,claude-3-5-haiku=0.8/4/0.08';

/** Which process reads the configuration: the worker holds no signing keys nor bootstrap credentials. */
export type ConfigRole = 'gateway' | 'worker';

/** Settings only the gateway uses: a worker given them warns, and never reads them. */
export const GATEWAY_ONLY_SETTINGS = [
  'JWT_SECRET',
  'JWT_PRIVATE_KEY',
  'JWT_PUBLIC_KEY',
  'BOOTSTRAP_ADMIN_PASSWORD',
  'BOOTSTRAP_CLIENT_ID',
  'BOOTSTRAP_CLIENT_SECRET',
] as const;

/**
 * Reads and validates the environment; throws one ConfigError listing every problem. For the
 * worker (`role` worker) the gateway-only settings are not read: its config has no JWT secret or
 * key and no bootstrap credentials, so a job that escaped its sandbox finds none in the worker.
 *
 * Each section of AppConfig is read by its own function below (`<section>Section`), in the order
 * of AppConfig's fields; they share one EnvReader, which collects the problems of all of them.
 */
export function loadConfig(env: Env = process.env, role: ConfigRole = 'gateway'): AppConfig {
  if (role === 'worker')
    env = Object.fromEntries(
      Object.entries(env).filter(([k]) => !(GATEWAY_ONLY_SETTINGS as readonly string[]).includes(k)),
    );
  const r = new EnvReader(env);
  const nodeEnv = r.oneOf('NODE_ENV', 'development', ['development', 'test', 'production'] as const);
  const config: AppConfig = {
    env: nodeEnv,
    http: httpSection(r),
    metrics: metricsSection(r, nodeEnv),
    worker: workerSection(r),
    database: databaseSection(r),
    redis: redisSection(r),
    jwt: jwtSection(r, nodeEnv, role),
    auth: authSection(r),
    bootstrap: bootstrapSection(r),
    mail: mailSection(r),
    log: logSection(r),
    outbox: outboxSection(r),
    queues: queuesSection(r),
    idempotency: idempotencySection(r),
    rateLimit: rateLimitSection(r),
    agents: agentsSection(r),
    webhooks: webhooksSection(r),
    deployments: deploymentsSection(r),
    builds: buildsSection(r),
    fileStore: fileStoreSection(r),
    sandbox: sandboxSection(r, nodeEnv),
    gitFileRoots: gitFileRootsSection(r, nodeEnv),
    secrets: secretsSection(r, nodeEnv),
    tests: testsSection(r),
  };
  if (r.problems.length) throw new ConfigError(r.problems);
  return config;
}

type NodeEnv = AppConfig['env'];

/** Reads settings from an environment, recording each problem instead of throwing at the first. */
class EnvReader {
  readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  problem(message: string): void {
    this.problems.push(message);
  }

  /** The raw value (an empty one included): whether a setting was given at all. */
  raw(name: string): string | undefined {
    return this.env[name];
  }

  str(name: string): string | undefined;
  str(name: string, fallback: string): string;
  str(name: string, fallback?: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v === '' ? fallback : v;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const raw = this.str(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      this.problem(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
      return fallback;
    }
    return n;
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.str(name);
    if (raw === undefined) return fallback;
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    this.problem(`${name} must be true or false (got "${raw}")`);
    return fallback;
  }

  url(name: string, fallback: string, protocols: string[]): string {
    const raw = this.str(name, fallback);
    try {
      const u = new URL(raw);
      if (!protocols.includes(u.protocol))
        this.problem(`${name} must use ${protocols.join(' or ')} (got "${u.protocol}")`);
    } catch {
      this.problem(`${name} is not a valid URL`);
    }
    return raw;
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const raw = this.str(name, fallback);
    if (!allowed.includes(raw as T)) {
      this.problem(`${name} must be one of ${allowed.join(', ')} (got "${raw}")`);
      return fallback;
    }
    return raw as T;
  }

  /** An absolute directory. */
  dir(name: string, fallback: string): string {
    const raw = this.str(name, fallback);
    if (!isAbsolute(raw)) this.problem(`${name} must be an absolute path (got "${raw}")`);
    return resolve(raw);
  }

  /** A comma-separated list of absolute directories (none when unset). */
  dirs(name: string): string[] {
    return (this.str(name) ?? '')
      .split(',')
      .map((d) => d.trim())
      .filter(Boolean)
      .map((d) => {
        if (!isAbsolute(d)) this.problem(`${name} must list absolute paths (got "${d}")`);
        return resolve(d);
      });
  }
}

// ---- The sections, in AppConfig's order. ----

function httpSection(r: EnvReader): AppConfig['http'] {
  const port = r.int('PORT', 3000, 0, 65535);
  return {
    host: r.str('HOST', '0.0.0.0'),
    port,
    publicBaseUrl: r
      .url('PUBLIC_BASE_URL', `http://localhost:${port}`, ['http:', 'https:'])
      .replace(/\/$/, ''),
    publicBaseUrlSet: Boolean(r.raw('PUBLIC_BASE_URL')),
    trustProxy: r.bool('TRUST_PROXY', false),
  };
}

function metricsSection(r: EnvReader, nodeEnv: NodeEnv): MetricsAccess {
  const token = r.str('METRICS_TOKEN') || null;
  if (token !== null && (token.length < 16 || /\s/.test(token)))
    r.problem('METRICS_TOKEN must be at least 16 characters without spaces');
  return { token, open: token === null && nodeEnv === 'development' };
}

function workerSection(r: EnvReader): AppConfig['worker'] {
  return { port: r.int('WORKER_PORT', 3001, 0, 65535), concurrency: r.int('WORKER_CONCURRENCY', 5, 1, 100) };
}

function databaseSection(r: EnvReader): AppConfig['database'] {
  return {
    url: r.url('DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/cocode', ['postgres:', 'postgresql:']),
    poolSize: r.int('DATABASE_POOL_SIZE', 10, 1, 200),
    runMigrations: r.bool('MIGRATIONS_RUN', true),
  };
}

function redisSection(r: EnvReader): AppConfig['redis'] {
  return {
    url: r.url('REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']),
    prefix: r.str('REDIS_PREFIX', 'cocode'),
  };
}

function jwtSection(r: EnvReader, nodeEnv: NodeEnv, role: ConfigRole): AppConfig['jwt'] {
  const algorithm = r.oneOf<JwtAlgorithm>('JWT_ALGORITHM', 'HS256', JWT_ALGORITHMS);
  let secret = r.str('JWT_SECRET');
  let secretGenerated = false;
  const privateKey = r.str('JWT_PRIVATE_KEY')?.replace(/\\n/g, '\n');
  const publicKey = r.str('JWT_PUBLIC_KEY')?.replace(/\\n/g, '\n');
  if (role === 'worker') {
    // Nothing in the worker signs or verifies tokens.
  } else if (algorithm.startsWith('HS')) {
    if (!secret) {
      if (nodeEnv === 'production')
        r.problem('JWT_SECRET is required in production (at least 32 characters)');
      // Development convenience only: a per-process secret means tokens die on restart.
      secret = randomBytes(32).toString('base64url');
      secretGenerated = true;
    } else if (secret.length < 32) {
      r.problem('JWT_SECRET must be at least 32 characters');
    }
  } else if (!privateKey || !publicKey) {
    r.problem(`JWT_PRIVATE_KEY and JWT_PUBLIC_KEY (PEM) are required for ${algorithm}`);
  }
  return {
    algorithm,
    secret: algorithm.startsWith('HS') ? secret : undefined,
    privateKey,
    publicKey,
    issuer: r.str('JWT_ISSUER', 'openclaw-cocode'),
    audience: r.str('JWT_AUDIENCE', 'cocode-api'),
    accessTtlSeconds: r.int('JWT_ACCESS_TTL_SECONDS', 3600, 60, 86400),
    clockSkewSeconds: r.int('JWT_CLOCK_SKEW_SECONDS', 5, 0, 300),
    secretGenerated,
  };
}

function authSection(r: EnvReader): AppConfig['auth'] {
  return {
    refreshTtlDays: r.int('REFRESH_TOKEN_TTL_DAYS', 14, 7, 30),
    principalCacheMs: r.int('AUTH_PRINCIPAL_CACHE_MS', 1000, 0, 60000),
    maxConcurrentHashes: r.int('AUTH_MAX_CONCURRENT_HASHES', 4, 1, 64),
    loginFailureLimit: r.int('AUTH_LOGIN_FAILURE_LIMIT', 10, 1, 1000),
    loginAccountFailureLimit: r.int('AUTH_LOGIN_ACCOUNT_FAILURE_LIMIT', 100, 1, 100000),
    loginIpFailureLimit: r.int('AUTH_LOGIN_IP_FAILURE_LIMIT', 50, 1, 100000),
    loginFailureWindowSeconds: r.int('AUTH_LOGIN_FAILURE_WINDOW_SECONDS', 900, 1, 86400),
    emailVerificationTtlHours: r.int('EMAIL_VERIFICATION_TTL_HOURS', 48, 1, 720),
  };
}

function bootstrapSection(r: EnvReader): AppConfig['bootstrap'] {
  const clientSecret = r.str('BOOTSTRAP_CLIENT_SECRET');
  if (clientSecret && clientSecret.length < 16)
    r.problem('BOOTSTRAP_CLIENT_SECRET must be at least 16 characters');
  return {
    adminUsername: r.str('BOOTSTRAP_ADMIN_USERNAME', 'admin'),
    adminEmail: r.str('BOOTSTRAP_ADMIN_EMAIL', 'admin@localhost'),
    adminPassword: r.str('BOOTSTRAP_ADMIN_PASSWORD'),
    clientId: r.str('BOOTSTRAP_CLIENT_ID'),
    clientSecret,
  };
}

function mailSection(r: EnvReader): AppConfig['mail'] {
  const smtpUrl = r.str('SMTP_URL');
  if (smtpUrl) r.url('SMTP_URL', smtpUrl, ['smtp:', 'smtps:']);
  return { smtpUrl, from: r.str('MAIL_FROM', 'OpenClaw CoCode <no-reply@localhost>') };
}

function logSection(r: EnvReader): AppConfig['log'] {
  return { level: r.oneOf('LOG_LEVEL', 'info', LOG_LEVELS), requests: r.bool('LOG_REQUESTS', true) };
}

function outboxSection(r: EnvReader): AppConfig['outbox'] {
  return {
    sweepIntervalMs: r.int('OUTBOX_SWEEP_INTERVAL_MS', 2000, 100, 600000),
    batchSize: r.int('OUTBOX_BATCH_SIZE', 100, 1, 1000),
  };
}

function queuesSection(r: EnvReader): AppConfig['queues'] {
  return { reconcileAfterSeconds: r.int('QUEUE_RECONCILE_AFTER_SECONDS', 60, 1, 86400) };
}

function idempotencySection(r: EnvReader): AppConfig['idempotency'] {
  return {
    ttlHours: r.int('IDEMPOTENCY_TTL_HOURS', 24, 1, 168),
    lockSeconds: r.int('IDEMPOTENCY_LOCK_SECONDS', 60, 1, 3600),
  };
}

function rateLimitSection(r: EnvReader): AppConfig['rateLimit'] {
  const limits = (name: string, perMinute: number, perHour: number, concurrent: number): RateLimits => {
    const out = {
      perMinute: r.int(`RATE_LIMIT_${name}_PER_MINUTE`, perMinute, 1, 1_000_000_000),
      perHour: r.int(`RATE_LIMIT_${name}_PER_HOUR`, perHour, 1, 1_000_000_000),
      concurrent: r.int(`RATE_LIMIT_${name}_CONCURRENT`, concurrent, 1, 1_000_000),
    };
    if (out.perHour < out.perMinute)
      r.problem(`RATE_LIMIT_${name}_PER_HOUR must be at least RATE_LIMIT_${name}_PER_MINUTE`);
    return out;
  };
  return {
    enabled: r.bool('RATE_LIMIT_ENABLED', true),
    // The seed's 限流策略 table.
    tiers: {
      free: limits('FREE', 60, 1000, 5),
      pro: limits('PRO', 300, 10000, 20),
      enterprise: limits('ENTERPRISE', 1000, 50000, 100),
    },
    ip: limits('IP', 20, 600, 10),
    inFlightTtlSeconds: r.int('RATE_LIMIT_INFLIGHT_TTL_SECONDS', 60, 1, 3600),
    redisTimeoutMs: r.int('RATE_LIMIT_REDIS_TIMEOUT_MS', 250, 50, 10000),
  };
}

/** The variable that holds the model API key: read here alone, held by the model relay, never given to a sandbox. */
export const MODEL_KEY_VARIABLE = 'ANTHROPIC_API_KEY';

function agentsSection(r: EnvReader): AppConfig['agents'] {
  const requested = r.oneOf('AGENTS_PROVIDER', 'auto', ['auto', 'anthropic', 'template'] as const);
  const anthropicApiKey = r.str(MODEL_KEY_VARIABLE);
  const provider = requested === 'auto' ? (anthropicApiKey ? 'anthropic' : 'template') : requested;
  const modelAliases: Record<string, string> = {};
  for (const pair of r
    .str('AGENTS_MODEL_ALIASES', DEFAULT_MODEL_ALIASES)
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [name, id] = pair.split('=').map((x) => x?.trim());
    if (!name || !id) r.problem(`AGENTS_MODEL_ALIASES entries must be name=modelId (got "${pair}")`);
    else modelAliases[name] = id;
  }
  const modelPrices: AppConfig['agents']['modelPrices'] = {};
  for (const pair of r
    .str('AGENTS_MODEL_PRICES', DEFAULT_MODEL_PRICES)
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [prefix, rest] = pair.split('=').map((x) => x?.trim());
    const numbers = (rest ?? '').split('/').map((x) => (/^\d+(\.\d+)?$/.test(x.trim()) ? Number(x) : NaN));
    if (!prefix || numbers.length !== 3 || numbers.some((n) => Number.isNaN(n)))
      r.problem(
        `AGENTS_MODEL_PRICES entries must be modelPrefix=input/output/cacheRead in USD per million tokens (got "${pair}")`,
      );
    else modelPrices[prefix] = { input: numbers[0], output: numbers[1], cacheRead: numbers[2] };
  }
  const agents: AppConfig['agents'] = {
    provider,
    modelPrices,
    anthropicApiKey,
    anthropicBaseUrl: r.str('ANTHROPIC_BASE_URL')
      ? r.url('ANTHROPIC_BASE_URL', '', ['http:', 'https:'])
      : undefined,
    defaultModel: r.str('AGENTS_DEFAULT_MODEL', 'claude-sonnet-4-5'),
    modelAliases,
    maxTokens: r.int('AGENTS_MAX_TOKENS', 4096, 256, 64000),
    timeoutMs: r.int('AGENTS_TIMEOUT_MS', 120000, 1000, 600000),
    maxRetries: r.int('AGENTS_MAX_RETRIES', 4, 0, 10),
    concurrency: r.int('AGENTS_CONCURRENCY', 100, 1, 1000),
    leaseMs: r.int('AGENTS_LEASE_MS', 30000, 1000, 600000),
    claudeCodeExecutable: r.str('CLAUDE_CODE_EXECUTABLE') || undefined,
    codeSession: {
      maxTurns: r.int('AGENTS_CODE_MAX_TURNS', 50, 1, 1000),
      timeoutSeconds: r.int('AGENTS_CODE_TIMEOUT_SECONDS', 1800, 10, 86400),
      perWorker: r.int('AGENTS_CODE_SESSIONS', availableParallelism(), 1, 256),
    },
  };
  if (provider === 'anthropic' && !anthropicApiKey)
    r.problem('AGENTS_PROVIDER=anthropic needs ANTHROPIC_API_KEY');
  return agents;
}

function webhooksSection(r: EnvReader): AppConfig['webhooks'] {
  return {
    allowPrivate: r.bool('WEBHOOKS_ALLOW_PRIVATE', false),
    timeoutMs: r.int('WEBHOOKS_TIMEOUT_MS', 10000, 100, 60000),
    maxAttempts: r.int('WEBHOOKS_MAX_ATTEMPTS', 8, 1, 20),
    retryBaseMs: r.int('WEBHOOKS_RETRY_BASE_MS', 60000, 10, 3600000),
    disableAfterSeconds: r.int('WEBHOOKS_DISABLE_AFTER_SECONDS', 3 * 86400, 1, 30 * 86400),
    concurrency: r.int('WEBHOOKS_CONCURRENCY', 50, 1, 1000),
    sweepIntervalMs: r.int('WEBHOOKS_SWEEP_INTERVAL_MS', 5000, 100, 600000),
  };
}

function deploymentsSection(r: EnvReader): AppConfig['deployments'] {
  return {
    concurrency: r.int('DEPLOY_CONCURRENCY', 10, 1, 100),
    scriptTimeoutMs: r.int('DEPLOY_SCRIPT_TIMEOUT_MS', 600000, 100, 24 * 3600000),
    webhookTimeoutMs: r.int('DEPLOY_WEBHOOK_TIMEOUT_MS', 30000, 100, 600000),
    rollingBatches: r.int('DEPLOY_ROLLING_BATCHES', 3, 1, 100),
    healthCheckIntervalMs: r.int('DEPLOY_HEALTH_CHECK_INTERVAL_MS', 10000, 0, 3600000),
    healthCheckAttempts: r.int('DEPLOY_HEALTH_CHECK_ATTEMPTS', 3, 1, 100),
    leaseSeconds: r.int('DEPLOY_LEASE_SECONDS', 60, 1, 3600),
    sweepIntervalMs: r.int('DEPLOY_SWEEP_INTERVAL_MS', 15000, 100, 600000),
    maxResumes: r.int('DEPLOY_MAX_RESUMES', 3, 0, 100),
  };
}

function buildsSection(r: EnvReader): AppConfig['builds'] {
  return {
    workspaceRoot: r.dir('WORKSPACES_ROOT', join(tmpdir(), 'cocode', 'workspaces')),
    concurrency: r.int('BUILDS_CONCURRENCY', 2, 1, 100),
    defaultStageTimeoutSeconds: r.int('BUILDS_STAGE_TIMEOUT_SECONDS', 3600, 1, 86400),
    cloneTimeoutSeconds: r.int('BUILDS_CLONE_TIMEOUT_SECONDS', 300, 1, 3600),
    leaseSeconds: r.int('BUILDS_LEASE_SECONDS', 30, 2, 3600),
    sweepIntervalMs: r.int('BUILDS_SWEEP_INTERVAL_MS', 10000, 100, 600000),
    maxLogBytes: r.int('BUILDS_MAX_LOG_BYTES', 10 * 2 ** 20, 1024, 2 ** 30),
    maxArtifactBytes: r.int('BUILDS_MAX_ARTIFACT_BYTES', 2 ** 30, 0, 2 ** 40),
  };
}

function fileStoreSection(r: EnvReader): FileStoreConfig {
  const kind = r.oneOf('FILE_STORE', 'postgres', ['postgres', 's3'] as const);
  if (kind === 'postgres') return { kind };
  const bucket = r.str('S3_BUCKET');
  if (!bucket) r.problem('FILE_STORE=s3 needs S3_BUCKET');
  else if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
    r.problem(`S3_BUCKET must be a bucket name: 3 to 63 of a-z, 0-9, "." and "-" (got "${bucket}")`);
  const accessKeyId = r.str('S3_ACCESS_KEY_ID');
  const secretAccessKey = r.str('S3_SECRET_ACCESS_KEY');
  if (Boolean(accessKeyId) !== Boolean(secretAccessKey))
    r.problem('S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together: set both or neither');
  const region = r.str('S3_REGION', 'us-east-1')!;
  if (!/^[a-z0-9-]+$/.test(region))
    r.problem(`S3_REGION must be a region name like eu-west-1 (got "${region}")`);
  return {
    kind,
    bucket: bucket ?? '',
    region,
    endpoint: r.str('S3_ENDPOINT') ? r.url('S3_ENDPOINT', '', ['http:', 'https:']) : undefined,
    accessKeyId,
    secretAccessKey,
    forcePathStyle: r.bool('S3_FORCE_PATH_STYLE', false),
  };
}

function sandboxSection(r: EnvReader, nodeEnv: NodeEnv): SandboxConfig {
  const sandbox: SandboxConfig = {
    executor: r.oneOf('SANDBOX', 'bwrap', ['bwrap', 'none'] as const),
    unsafeHost: r.bool('SANDBOX_UNSAFE_HOST', false),
    uid: r.int('SANDBOX_UID', 10001, 1, 2 ** 31 - 2),
    gid: r.int('SANDBOX_GID', 10001, 1, 2 ** 31 - 2),
    path: r.str('SANDBOX_PATH', '/usr/local/bin:/usr/bin:/bin'),
    limits: {
      memoryBytes: r.int('SANDBOX_MEMORY_MB', 2048, 16, 1024 * 1024) * 2 ** 20,
      processes: r.int('SANDBOX_MAX_PROCESSES', 512, 8, 1_000_000),
      cpuSeconds: r.int('SANDBOX_CPU_SECONDS', 3600, 1, 7 * 86400),
      diskBytes: r.int('SANDBOX_DISK_MB', 4096, 1, 1024 * 1024) * 2 ** 20,
      outputBytes: r.int('SANDBOX_MAX_OUTPUT_BYTES', 16 * 2 ** 20, 1024, 2 ** 31),
    },
    checkIntervalMs: r.int('SANDBOX_CHECK_INTERVAL_MS', 1000, 50, 60000),
  };
  if (sandbox.executor === 'none' && nodeEnv === 'production' && !sandbox.unsafeHost) {
    r.problem(
      "SANDBOX=none runs users' commands on the worker host as the worker: refused in production unless SANDBOX_UNSAFE_HOST=true",
    );
  }
  return sandbox;
}

function gitFileRootsSection(r: EnvReader, nodeEnv: NodeEnv): AppConfig['gitFileRoots'] {
  return r.raw('GIT_FILE_ROOTS') !== undefined || nodeEnv === 'production'
    ? r.dirs('GIT_FILE_ROOTS')
    : [tmpdir()];
}

/**
 * Outside production, without SECRETS_ENCRYPTION_KEY: a fixed key every process derives alike
 * (gateway and worker must agree, and it must survive restarts). It is public, so it protects
 * nothing: production refuses to start without a key of its own, and refuses this one.
 */
export const DEVELOPMENT_SECRETS_KEY = createHash('sha256')
  .update('openclaw-cocode development secrets key: not for production')
  .digest();

/** 32 bytes as 64 hex digits or base64 (standard or url-safe, padding optional). */
export function parseSecretsKey(raw: string): Buffer | null {
  const text = raw.trim();
  if (/^[0-9a-f]{64}$/i.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) {
    const key = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (key.length === 32) return key;
  }
  return null;
}

function secretsSection(r: EnvReader, nodeEnv: NodeEnv): AppConfig['secrets'] {
  const raw = r.str('SECRETS_ENCRYPTION_KEY');
  const keyHelp =
    'SECRETS_ENCRYPTION_KEY must be 32 bytes, as 64 hex digits or base64 (openssl rand -base64 32)';
  if (raw === undefined) {
    if (nodeEnv === 'production') r.problem(`${keyHelp}: required in production`);
    return { encryptionKey: DEVELOPMENT_SECRETS_KEY, keyDerived: true };
  }
  const key = parseSecretsKey(raw);
  if (!key) {
    r.problem(keyHelp);
    return { encryptionKey: DEVELOPMENT_SECRETS_KEY, keyDerived: true };
  }
  if (nodeEnv === 'production' && key.equals(DEVELOPMENT_SECRETS_KEY))
    r.problem('SECRETS_ENCRYPTION_KEY is the public development key: give production a key of its own');
  return { encryptionKey: key, keyDerived: false };
}

function testsSection(r: EnvReader): AppConfig['tests'] {
  return {
    workingDirectoryRoots: r.dirs('TESTS_WORKDIR_ROOTS'),
    concurrency: r.int('TESTS_CONCURRENCY', 2, 1, 100),
    defaultTimeoutSeconds: r.int('TESTS_TIMEOUT_SECONDS', 1800, 1, 86400),
    maxReportBytes: r.int('TESTS_MAX_REPORT_BYTES', 20 * 2 ** 20, 1024, 2 ** 30),
  };
}

let processConfig: AppConfig | null = null;

/** The process's configuration, loaded once (a generated dev JWT secret stays the same); the first call names the role. */
export function getConfig(role: ConfigRole = 'gateway'): AppConfig {
  processConfig ??= loadConfig(process.env, role);
  return processConfig;
}
