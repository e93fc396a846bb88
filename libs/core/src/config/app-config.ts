import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
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
 */
export function loadConfig(env: Env = process.env, role: ConfigRole = 'gateway'): AppConfig {
  const problems: string[] = [];
  if (role === 'worker')
    env = Object.fromEntries(
      Object.entries(env).filter(([k]) => !(GATEWAY_ONLY_SETTINGS as readonly string[]).includes(k)),
    );
  const str = (name: string, fallback?: string): string | undefined => {
    const v = env[name];
    return v === undefined || v === '' ? fallback : v;
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = str(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
      return fallback;
    }
    return n;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = str(name);
    if (raw === undefined) return fallback;
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    problems.push(`${name} must be true or false (got "${raw}")`);
    return fallback;
  };
  const url = (name: string, fallback: string, protocols: string[]): string => {
    const raw = str(name, fallback)!;
    try {
      const u = new URL(raw);
      if (!protocols.includes(u.protocol))
        problems.push(`${name} must use ${protocols.join(' or ')} (got "${u.protocol}")`);
    } catch {
      problems.push(`${name} is not a valid URL`);
    }
    return raw;
  };
  const oneOf = <T extends string>(name: string, fallback: T, allowed: readonly T[]): T => {
    const raw = str(name, fallback)!;
    if (!allowed.includes(raw as T)) {
      problems.push(`${name} must be one of ${allowed.join(', ')} (got "${raw}")`);
      return fallback;
    }
    return raw as T;
  };

  const aliases = (raw: string): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const pair of raw
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)) {
      const [name, id] = pair.split('=').map((x) => x?.trim());
      if (!name || !id) problems.push(`AGENTS_MODEL_ALIASES entries must be name=modelId (got "${pair}")`);
      else out[name] = id;
    }
    return out;
  };

  const nodeEnv = oneOf('NODE_ENV', 'development', ['development', 'test', 'production'] as const);
  const port = int('PORT', 3000, 0, 65535);
  const algorithm = oneOf<JwtAlgorithm>('JWT_ALGORITHM', 'HS256', JWT_ALGORITHMS);
  let secret = str('JWT_SECRET');
  let secretGenerated = false;
  const privateKey = str('JWT_PRIVATE_KEY')?.replace(/\\n/g, '\n');
  const publicKey = str('JWT_PUBLIC_KEY')?.replace(/\\n/g, '\n');
  if (role === 'worker') {
    // Nothing in the worker signs or verifies tokens.
  } else if (algorithm.startsWith('HS')) {
    if (!secret) {
      if (nodeEnv === 'production')
        problems.push('JWT_SECRET is required in production (at least 32 characters)');
      // Development convenience only: a per-process secret means tokens die on restart.
      secret = randomBytes(32).toString('base64url');
      secretGenerated = true;
    } else if (secret.length < 32) {
      problems.push('JWT_SECRET must be at least 32 characters');
    }
  } else if (!privateKey || !publicKey) {
    problems.push(`JWT_PRIVATE_KEY and JWT_PUBLIC_KEY (PEM) are required for ${algorithm}`);
  }
  const smtpUrl = str('SMTP_URL');
  if (smtpUrl) url('SMTP_URL', smtpUrl, ['smtp:', 'smtps:']);
  const dir = (name: string, fallback: string): string => {
    const raw = str(name, fallback)!;
    if (!isAbsolute(raw)) problems.push(`${name} must be an absolute path (got "${raw}")`);
    return resolve(raw);
  };
  const dirs = (name: string): string[] =>
    (str(name) ?? '')
      .split(',')
      .map((d) => d.trim())
      .filter(Boolean)
      .map((d) => {
        if (!isAbsolute(d)) problems.push(`${name} must list absolute paths (got "${d}")`);
        return resolve(d);
      });
  const rateLimits = (name: string, perMinute: number, perHour: number, concurrent: number): RateLimits => {
    const limits = {
      perMinute: int(`RATE_LIMIT_${name}_PER_MINUTE`, perMinute, 1, 1_000_000_000),
      perHour: int(`RATE_LIMIT_${name}_PER_HOUR`, perHour, 1, 1_000_000_000),
      concurrent: int(`RATE_LIMIT_${name}_CONCURRENT`, concurrent, 1, 1_000_000),
    };
    if (limits.perHour < limits.perMinute)
      problems.push(`RATE_LIMIT_${name}_PER_HOUR must be at least RATE_LIMIT_${name}_PER_MINUTE`);
    return limits;
  };

  const metricsAccess = (): MetricsAccess => {
    const token = str('METRICS_TOKEN') || null;
    if (token !== null && (token.length < 16 || /\s/.test(token)))
      problems.push('METRICS_TOKEN must be at least 16 characters without spaces');
    return { token, open: token === null && nodeEnv === 'development' };
  };

  const fileStore = (): FileStoreConfig => {
    const kind = oneOf('FILE_STORE', 'postgres', ['postgres', 's3'] as const);
    if (kind === 'postgres') return { kind };
    const bucket = str('S3_BUCKET');
    if (!bucket) problems.push('FILE_STORE=s3 needs S3_BUCKET');
    else if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
      problems.push(`S3_BUCKET must be a bucket name: 3 to 63 of a-z, 0-9, "." and "-" (got "${bucket}")`);
    const accessKeyId = str('S3_ACCESS_KEY_ID');
    const secretAccessKey = str('S3_SECRET_ACCESS_KEY');
    if (Boolean(accessKeyId) !== Boolean(secretAccessKey))
      problems.push('S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together: set both or neither');
    const region = str('S3_REGION', 'us-east-1')!;
    if (!/^[a-z0-9-]+$/.test(region))
      problems.push(`S3_REGION must be a region name like eu-west-1 (got "${region}")`);
    return {
      kind,
      bucket: bucket ?? '',
      region,
      endpoint: str('S3_ENDPOINT') ? url('S3_ENDPOINT', '', ['http:', 'https:']) : undefined,
      accessKeyId,
      secretAccessKey,
      forcePathStyle: bool('S3_FORCE_PATH_STYLE', false),
    };
  };

  const config: AppConfig = {
    env: nodeEnv,
    http: {
      host: str('HOST', '0.0.0.0')!,
      port,
      publicBaseUrl: url('PUBLIC_BASE_URL', `http://localhost:${port}`, ['http:', 'https:']).replace(
        /\/$/,
        '',
      ),
      publicBaseUrlSet: Boolean(env.PUBLIC_BASE_URL),
      trustProxy: bool('TRUST_PROXY', false),
    },
    metrics: metricsAccess(),
    worker: { port: int('WORKER_PORT', 3001, 0, 65535), concurrency: int('WORKER_CONCURRENCY', 5, 1, 100) },
    database: {
      url: url('DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/cocode', ['postgres:', 'postgresql:']),
      poolSize: int('DATABASE_POOL_SIZE', 10, 1, 200),
      runMigrations: bool('MIGRATIONS_RUN', true),
    },
    redis: {
      url: url('REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']),
      prefix: str('REDIS_PREFIX', 'cocode')!,
    },
    jwt: {
      algorithm,
      secret: algorithm.startsWith('HS') ? secret : undefined,
      privateKey,
      publicKey,
      issuer: str('JWT_ISSUER', 'openclaw-cocode')!,
      audience: str('JWT_AUDIENCE', 'cocode-api')!,
      accessTtlSeconds: int('JWT_ACCESS_TTL_SECONDS', 3600, 60, 86400),
      clockSkewSeconds: int('JWT_CLOCK_SKEW_SECONDS', 5, 0, 300),
      secretGenerated,
    },
    auth: {
      refreshTtlDays: int('REFRESH_TOKEN_TTL_DAYS', 14, 7, 30),
      principalCacheMs: int('AUTH_PRINCIPAL_CACHE_MS', 1000, 0, 60000),
      maxConcurrentHashes: int('AUTH_MAX_CONCURRENT_HASHES', 4, 1, 64),
      loginFailureLimit: int('AUTH_LOGIN_FAILURE_LIMIT', 10, 1, 1000),
      loginAccountFailureLimit: int('AUTH_LOGIN_ACCOUNT_FAILURE_LIMIT', 100, 1, 100000),
      loginIpFailureLimit: int('AUTH_LOGIN_IP_FAILURE_LIMIT', 50, 1, 100000),
      loginFailureWindowSeconds: int('AUTH_LOGIN_FAILURE_WINDOW_SECONDS', 900, 1, 86400),
      emailVerificationTtlHours: int('EMAIL_VERIFICATION_TTL_HOURS', 48, 1, 720),
    },
    bootstrap: {
      adminUsername: str('BOOTSTRAP_ADMIN_USERNAME', 'admin')!,
      adminEmail: str('BOOTSTRAP_ADMIN_EMAIL', 'admin@localhost')!,
      adminPassword: str('BOOTSTRAP_ADMIN_PASSWORD'),
      clientId: str('BOOTSTRAP_CLIENT_ID'),
      clientSecret: str('BOOTSTRAP_CLIENT_SECRET'),
    },
    mail: { smtpUrl, from: str('MAIL_FROM', 'OpenClaw CoCode <no-reply@localhost>')! },
    log: { level: oneOf('LOG_LEVEL', 'info', LOG_LEVELS), requests: bool('LOG_REQUESTS', true) },
    outbox: {
      sweepIntervalMs: int('OUTBOX_SWEEP_INTERVAL_MS', 2000, 100, 600000),
      batchSize: int('OUTBOX_BATCH_SIZE', 100, 1, 1000),
    },
    queues: { reconcileAfterSeconds: int('QUEUE_RECONCILE_AFTER_SECONDS', 60, 1, 86400) },
    idempotency: {
      ttlHours: int('IDEMPOTENCY_TTL_HOURS', 24, 1, 168),
      lockSeconds: int('IDEMPOTENCY_LOCK_SECONDS', 60, 1, 3600),
    },
    rateLimit: {
      enabled: bool('RATE_LIMIT_ENABLED', true),
      // The seed's 限流策略 table.
      tiers: {
        free: rateLimits('FREE', 60, 1000, 5),
        pro: rateLimits('PRO', 300, 10000, 20),
        enterprise: rateLimits('ENTERPRISE', 1000, 50000, 100),
      },
      ip: rateLimits('IP', 20, 600, 10),
      inFlightTtlSeconds: int('RATE_LIMIT_INFLIGHT_TTL_SECONDS', 60, 1, 3600),
      redisTimeoutMs: int('RATE_LIMIT_REDIS_TIMEOUT_MS', 250, 50, 10000),
    },
    agents: {
      provider: ((p) => (p === 'auto' ? (str('ANTHROPIC_API_KEY') ? 'anthropic' : 'template') : p))(
        oneOf('AGENTS_PROVIDER', 'auto', ['auto', 'anthropic', 'template'] as const),
      ),
      anthropicApiKey: str('ANTHROPIC_API_KEY'),
      anthropicBaseUrl: str('ANTHROPIC_BASE_URL')
        ? url('ANTHROPIC_BASE_URL', '', ['http:', 'https:'])
        : undefined,
      defaultModel: str('AGENTS_DEFAULT_MODEL', 'claude-sonnet-4-5')!,
      modelAliases: aliases(str('AGENTS_MODEL_ALIASES', DEFAULT_MODEL_ALIASES)!),
      maxTokens: int('AGENTS_MAX_TOKENS', 4096, 256, 64000),
      timeoutMs: int('AGENTS_TIMEOUT_MS', 120000, 1000, 600000),
      maxRetries: int('AGENTS_MAX_RETRIES', 4, 0, 10),
      concurrency: int('AGENTS_CONCURRENCY', 100, 1, 1000),
      leaseMs: int('AGENTS_LEASE_MS', 30000, 1000, 600000),
    },
    webhooks: {
      allowPrivate: bool('WEBHOOKS_ALLOW_PRIVATE', false),
      timeoutMs: int('WEBHOOKS_TIMEOUT_MS', 10000, 100, 60000),
      maxAttempts: int('WEBHOOKS_MAX_ATTEMPTS', 8, 1, 20),
      retryBaseMs: int('WEBHOOKS_RETRY_BASE_MS', 60000, 10, 3600000),
      disableAfterSeconds: int('WEBHOOKS_DISABLE_AFTER_SECONDS', 3 * 86400, 1, 30 * 86400),
      concurrency: int('WEBHOOKS_CONCURRENCY', 50, 1, 1000),
      sweepIntervalMs: int('WEBHOOKS_SWEEP_INTERVAL_MS', 5000, 100, 600000),
    },
    deployments: {
      concurrency: int('DEPLOY_CONCURRENCY', 10, 1, 100),
      scriptTimeoutMs: int('DEPLOY_SCRIPT_TIMEOUT_MS', 600000, 100, 24 * 3600000),
      webhookTimeoutMs: int('DEPLOY_WEBHOOK_TIMEOUT_MS', 30000, 100, 600000),
      rollingBatches: int('DEPLOY_ROLLING_BATCHES', 3, 1, 100),
      healthCheckIntervalMs: int('DEPLOY_HEALTH_CHECK_INTERVAL_MS', 10000, 0, 3600000),
      healthCheckAttempts: int('DEPLOY_HEALTH_CHECK_ATTEMPTS', 3, 1, 100),
      leaseSeconds: int('DEPLOY_LEASE_SECONDS', 60, 1, 3600),
      sweepIntervalMs: int('DEPLOY_SWEEP_INTERVAL_MS', 15000, 100, 600000),
      maxResumes: int('DEPLOY_MAX_RESUMES', 3, 0, 100),
    },
    builds: {
      workspaceRoot: dir('WORKSPACES_ROOT', join(tmpdir(), 'cocode', 'workspaces')),
      concurrency: int('BUILDS_CONCURRENCY', 2, 1, 100),
      defaultStageTimeoutSeconds: int('BUILDS_STAGE_TIMEOUT_SECONDS', 3600, 1, 86400),
      cloneTimeoutSeconds: int('BUILDS_CLONE_TIMEOUT_SECONDS', 300, 1, 3600),
      leaseSeconds: int('BUILDS_LEASE_SECONDS', 30, 2, 3600),
      sweepIntervalMs: int('BUILDS_SWEEP_INTERVAL_MS', 10000, 100, 600000),
      maxLogBytes: int('BUILDS_MAX_LOG_BYTES', 10 * 2 ** 20, 1024, 2 ** 30),
      maxArtifactBytes: int('BUILDS_MAX_ARTIFACT_BYTES', 2 ** 30, 0, 2 ** 40),
    },
    fileStore: fileStore(),
    sandbox: {
      executor: oneOf('SANDBOX', 'bwrap', ['bwrap', 'none'] as const),
      unsafeHost: bool('SANDBOX_UNSAFE_HOST', false),
      uid: int('SANDBOX_UID', 10001, 1, 2 ** 31 - 2),
      gid: int('SANDBOX_GID', 10001, 1, 2 ** 31 - 2),
      path: str('SANDBOX_PATH', '/usr/local/bin:/usr/bin:/bin')!,
      limits: {
        memoryBytes: int('SANDBOX_MEMORY_MB', 2048, 16, 1024 * 1024) * 2 ** 20,
        processes: int('SANDBOX_MAX_PROCESSES', 512, 8, 1_000_000),
        cpuSeconds: int('SANDBOX_CPU_SECONDS', 3600, 1, 7 * 86400),
        diskBytes: int('SANDBOX_DISK_MB', 4096, 1, 1024 * 1024) * 2 ** 20,
        outputBytes: int('SANDBOX_MAX_OUTPUT_BYTES', 16 * 2 ** 20, 1024, 2 ** 31),
      },
      checkIntervalMs: int('SANDBOX_CHECK_INTERVAL_MS', 1000, 50, 60000),
    },
    gitFileRoots:
      env.GIT_FILE_ROOTS !== undefined || nodeEnv === 'production' ? dirs('GIT_FILE_ROOTS') : [tmpdir()],
    tests: {
      workingDirectoryRoots: dirs('TESTS_WORKDIR_ROOTS'),
      concurrency: int('TESTS_CONCURRENCY', 2, 1, 100),
      defaultTimeoutSeconds: int('TESTS_TIMEOUT_SECONDS', 1800, 1, 86400),
      maxReportBytes: int('TESTS_MAX_REPORT_BYTES', 20 * 2 ** 20, 1024, 2 ** 30),
    },
  };
  if (config.agents.provider === 'anthropic' && !config.agents.anthropicApiKey) {
    problems.push('AGENTS_PROVIDER=anthropic needs ANTHROPIC_API_KEY');
  }
  if (config.sandbox.executor === 'none' && nodeEnv === 'production' && !config.sandbox.unsafeHost) {
    problems.push(
      "SANDBOX=none runs users' commands on the worker host as the worker: refused in production unless SANDBOX_UNSAFE_HOST=true",
    );
  }
  if (config.bootstrap.clientSecret && config.bootstrap.clientSecret.length < 16) {
    problems.push('BOOTSTRAP_CLIENT_SECRET must be at least 16 characters');
  }
  if (problems.length) throw new ConfigError(problems);
  return config;
}

let processConfig: AppConfig | null = null;

/** The process's configuration, loaded once (a generated dev JWT secret stays the same); the first call names the role. */
export function getConfig(role: ConfigRole = 'gateway'): AppConfig {
  processConfig ??= loadConfig(process.env, role);
  return processConfig;
}
