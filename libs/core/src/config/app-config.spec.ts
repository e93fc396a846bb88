import { randomBytes } from 'node:crypto';
import { ConfigError, DEVELOPMENT_SECRETS_KEY, GATEWAY_ONLY_SETTINGS, loadConfig } from './app-config';

const STRONG_SECRET = 'a-strong-secret-of-at-least-32-chars!';
/** Production needs its own key for the secrets kept at rest. */
const SECRETS_KEY = randomBytes(32).toString('base64');
const PEM_PRIVATE = '-----BEGIN PRIVATE KEY-----\\nMIIprivate\\n-----END PRIVATE KEY-----';
const PEM_PUBLIC = '-----BEGIN PUBLIC KEY-----\\nMIIpublic\\n-----END PUBLIC KEY-----';

/** The problems loadConfig reports for `env`; fails the test when it does not throw a ConfigError. */
function problemsOf(env: Record<string, string | undefined>): string[] {
  let thrown: unknown;
  try {
    loadConfig(env);
  } catch (err) {
    thrown = err;
  }
  if (!(thrown instanceof ConfigError)) {
    throw new Error(`expected a ConfigError, got ${thrown === undefined ? 'no error' : String(thrown)}`);
  }
  return thrown.problems;
}

describe('loadConfig', () => {
  describe('with an empty environment', () => {
    const config = loadConfig({});

    it('listens on port 3000 of every interface in development', () => {
      expect(config.env).toBe('development');
      expect(config.http.port).toBe(3000);
      expect(config.http.host).toBe('0.0.0.0');
      expect(config.http.publicBaseUrl).toBe('http://localhost:3000');
      expect(config.http.trustProxy).toBe(false);
    });

    it('uses the local PostgreSQL and Redis', () => {
      expect(config.database.url).toBe('postgres://postgres@127.0.0.1:5432/cocode');
      expect(config.database.runMigrations).toBe(true);
      expect(config.redis.url).toBe('redis://127.0.0.1:6379');
      expect(config.redis.prefix).toBe('cocode');
    });

    it('signs tokens with HS256 and keeps refresh tokens 14 days', () => {
      expect(config.jwt.algorithm).toBe('HS256');
      expect(config.jwt.issuer).toBe('openclaw-cocode');
      expect(config.jwt.audience).toBe('cocode-api');
      expect(config.jwt.accessTtlSeconds).toBe(3600);
      expect(config.jwt.clockSkewSeconds).toBe(5);
      expect(config.auth.refreshTtlDays).toBe(14);
    });
  });

  it('reads only the environment it is given, not process.env', () => {
    const saved = process.env.PORT;
    process.env.PORT = '4321';
    try {
      expect(loadConfig({}).http.port).toBe(3000);
    } finally {
      if (saved === undefined) delete process.env.PORT;
      else process.env.PORT = saved;
    }
  });

  it('treats an empty variable as unset', () => {
    const config = loadConfig({ PORT: '', REDIS_URL: '', JWT_SECRET: '' });
    expect(config.http.port).toBe(3000);
    expect(config.redis.url).toBe('redis://127.0.0.1:6379');
    expect(config.jwt.secretGenerated).toBe(true);
  });

  it('takes the values it is given', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      PORT: '8080',
      PUBLIC_BASE_URL: 'https://api.example.com/',
      TRUST_PROXY: 'yes',
      MIGRATIONS_RUN: 'off',
      DATABASE_URL: 'postgresql://app:pw@db:5432/app',
      REDIS_URL: 'rediss://cache:6380',
      JWT_SECRET: STRONG_SECRET,
      SECRETS_ENCRYPTION_KEY: SECRETS_KEY,
      REFRESH_TOKEN_TTL_DAYS: '30',
    });
    expect(config.env).toBe('production');
    expect(config.http.port).toBe(8080);
    expect(config.http.publicBaseUrl).toBe('https://api.example.com');
    expect(config.http.trustProxy).toBe(true);
    expect(config.database.runMigrations).toBe(false);
    expect(config.database.url).toBe('postgresql://app:pw@db:5432/app');
    expect(config.redis.url).toBe('rediss://cache:6380');
    expect(config.jwt.secret).toBe(STRONG_SECRET);
    expect(config.auth.refreshTtlDays).toBe(30);
  });

  it('derives the default public base URL from the port', () => {
    expect(loadConfig({ PORT: '8081' }).http.publicBaseUrl).toBe('http://localhost:8081');
  });

  it.each([
    ['1', true],
    ['TRUE', true],
    ['on', true],
    ['0', false],
    ['False', false],
    ['no', false],
  ])('reads the boolean "%s" as %s', (raw, expected) => {
    expect(loadConfig({ TRUST_PROXY: raw }).http.trustProxy).toBe(expected);
  });

  describe('the JWT secret', () => {
    it('is generated per process, and flagged, when none is given outside production', () => {
      const first = loadConfig({});
      const second = loadConfig({ NODE_ENV: 'test' });
      expect(first.jwt.secretGenerated).toBe(true);
      expect(second.jwt.secretGenerated).toBe(true);
      expect(first.jwt.secret!.length).toBeGreaterThanOrEqual(32);
      expect(second.jwt.secret).not.toBe(first.jwt.secret);
    });

    it('is not flagged as generated when given', () => {
      const config = loadConfig({ JWT_SECRET: STRONG_SECRET });
      expect(config.jwt.secretGenerated).toBe(false);
      expect(config.jwt.secret).toBe(STRONG_SECRET);
    });

    it('is accepted at exactly 32 characters', () => {
      expect(loadConfig({ JWT_SECRET: 'x'.repeat(32) }).jwt.secret).toBe('x'.repeat(32));
    });

    it('is refused below 32 characters', () => {
      expect(problemsOf({ JWT_SECRET: 'x'.repeat(31) })).toEqual([
        'JWT_SECRET must be at least 32 characters',
      ]);
    });

    it('is required in production', () => {
      expect(problemsOf({ NODE_ENV: 'production', SECRETS_ENCRYPTION_KEY: SECRETS_KEY })).toEqual([
        'JWT_SECRET is required in production (at least 32 characters)',
      ]);
    });

    it('is still checked for length in production', () => {
      expect(
        problemsOf({ NODE_ENV: 'production', JWT_SECRET: 'short', SECRETS_ENCRYPTION_KEY: SECRETS_KEY }),
      ).toEqual(['JWT_SECRET must be at least 32 characters']);
    });
  });

  describe('asymmetric algorithms', () => {
    it.each(['RS256', 'ES256'])('%s requires both PEM keys', (alg) => {
      const expected = [`JWT_PRIVATE_KEY and JWT_PUBLIC_KEY (PEM) are required for ${alg}`];
      expect(problemsOf({ JWT_ALGORITHM: alg })).toEqual(expected);
      expect(problemsOf({ JWT_ALGORITHM: alg, JWT_PRIVATE_KEY: PEM_PRIVATE })).toEqual(expected);
      expect(problemsOf({ JWT_ALGORITHM: alg, JWT_PUBLIC_KEY: PEM_PUBLIC })).toEqual(expected);
    });

    it('turns escaped \\n in the keys into newlines and carries no secret', () => {
      const config = loadConfig({
        JWT_ALGORITHM: 'RS256',
        JWT_PRIVATE_KEY: PEM_PRIVATE,
        JWT_PUBLIC_KEY: PEM_PUBLIC,
        JWT_SECRET: STRONG_SECRET,
      });
      expect(config.jwt.algorithm).toBe('RS256');
      expect(config.jwt.privateKey).toBe(
        '-----BEGIN PRIVATE KEY-----\nMIIprivate\n-----END PRIVATE KEY-----',
      );
      expect(config.jwt.publicKey).toBe('-----BEGIN PUBLIC KEY-----\nMIIpublic\n-----END PUBLIC KEY-----');
      expect(config.jwt.secret).toBeUndefined();
      expect(config.jwt.secretGenerated).toBe(false);
    });
  });

  describe('refuses', () => {
    it.each(['abc', '3.5', '-1', '65536', '70000'])('PORT=%s', (port) => {
      expect(problemsOf({ PORT: port })).toEqual([
        `PORT must be an integer between 0 and 65535 (got "${port}")`,
      ]);
    });

    it.each(['6', '31', '0'])('REFRESH_TOKEN_TTL_DAYS=%s (outside 7-30)', (days) => {
      expect(problemsOf({ REFRESH_TOKEN_TTL_DAYS: days })).toEqual([
        `REFRESH_TOKEN_TTL_DAYS must be an integer between 7 and 30 (got "${days}")`,
      ]);
    });

    it.each(['7', '30'])('nothing at the REFRESH_TOKEN_TTL_DAYS bound %s', (days) => {
      expect(loadConfig({ REFRESH_TOKEN_TTL_DAYS: days }).auth.refreshTtlDays).toBe(Number(days));
    });

    it('a DATABASE_URL of another protocol', () => {
      expect(problemsOf({ DATABASE_URL: 'mysql://root@db/app' })).toEqual([
        'DATABASE_URL must use postgres: or postgresql: (got "mysql:")',
      ]);
    });

    it('a REDIS_URL of another protocol', () => {
      expect(problemsOf({ REDIS_URL: 'http://cache:6379' })).toEqual([
        'REDIS_URL must use redis: or rediss: (got "http:")',
      ]);
    });

    it('a URL that does not parse', () => {
      expect(problemsOf({ DATABASE_URL: 'not a url' })).toEqual(['DATABASE_URL is not a valid URL']);
    });

    it('an SMTP_URL that is not smtp: or smtps:', () => {
      expect(problemsOf({ SMTP_URL: 'http://mail:25' })).toEqual([
        'SMTP_URL must use smtp: or smtps: (got "http:")',
      ]);
    });

    it('a boolean it cannot read', () => {
      expect(problemsOf({ TRUST_PROXY: 'maybe' })).toEqual([
        'TRUST_PROXY must be true or false (got "maybe")',
      ]);
    });

    it('an unknown NODE_ENV', () => {
      expect(problemsOf({ NODE_ENV: 'staging' })).toEqual([
        'NODE_ENV must be one of development, test, production (got "staging")',
      ]);
    });

    it('the "none" JWT algorithm', () => {
      expect(problemsOf({ JWT_ALGORITHM: 'none' })).toEqual([
        'JWT_ALGORITHM must be one of HS256, HS384, HS512, RS256, ES256 (got "none")',
      ]);
    });

    it('a bootstrap client secret shorter than 16 characters', () => {
      expect(problemsOf({ BOOTSTRAP_CLIENT_SECRET: 'x'.repeat(15) })).toEqual([
        'BOOTSTRAP_CLIENT_SECRET must be at least 16 characters',
      ]);
    });
  });

  it('reports every problem at once in a single ConfigError', () => {
    const env = {
      PORT: 'eighty',
      DATABASE_URL: 'mysql://root@db/app',
      REDIS_URL: 'http://cache:6379',
      JWT_SECRET: 'too-short',
      REFRESH_TOKEN_TTL_DAYS: '31',
      TRUST_PROXY: 'perhaps',
    };
    let error: unknown;
    try {
      loadConfig(env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { problems, message, name } = error as ConfigError;
    expect(name).toBe('ConfigError');
    expect(problems).toHaveLength(6);
    expect(problems).toEqual(
      expect.arrayContaining([
        'PORT must be an integer between 0 and 65535 (got "eighty")',
        'DATABASE_URL must use postgres: or postgresql: (got "mysql:")',
        'REDIS_URL must use redis: or rediss: (got "http:")',
        'JWT_SECRET must be at least 32 characters',
        'REFRESH_TOKEN_TTL_DAYS must be an integer between 7 and 30 (got "31")',
        'TRUST_PROXY must be true or false (got "perhaps")',
      ]),
    );
    for (const problem of problems) expect(message).toContain(`  - ${problem}`);
  });

  it('reports both the missing production secret and the other problems together', () => {
    const problems = problemsOf({ NODE_ENV: 'production', PORT: '99999', REDIS_URL: 'nope' });
    expect(problems).toEqual(
      expect.arrayContaining([
        'JWT_SECRET is required in production (at least 32 characters)',
        'SECRETS_ENCRYPTION_KEY must be 32 bytes, as 64 hex digits or base64 (openssl rand -base64 32): required in production',
        'PORT must be an integer between 0 and 65535 (got "99999")',
        'REDIS_URL is not a valid URL',
      ]),
    );
    expect(problems).toHaveLength(4);
  });

  describe('rate limits', () => {
    it("default to the seed's table, on, with per-IP limits for unauthenticated calls", () => {
      const { rateLimit } = loadConfig({});
      expect(rateLimit.enabled).toBe(true);
      expect(rateLimit.tiers).toEqual({
        free: { perMinute: 60, perHour: 1000, concurrent: 5 },
        pro: { perMinute: 300, perHour: 10000, concurrent: 20 },
        enterprise: { perMinute: 1000, perHour: 50000, concurrent: 100 },
      });
      expect(rateLimit.ip).toEqual({ perMinute: 20, perHour: 600, concurrent: 10 });
      expect(rateLimit.inFlightTtlSeconds).toBe(60);
      expect(rateLimit.redisTimeoutMs).toBe(250);
    });

    it('are overridden per tier and switched off by RATE_LIMIT_ENABLED', () => {
      const { rateLimit } = loadConfig({
        RATE_LIMIT_ENABLED: 'false',
        RATE_LIMIT_PRO_PER_MINUTE: '500',
        RATE_LIMIT_PRO_CONCURRENT: '50',
        RATE_LIMIT_IP_PER_MINUTE: '5',
      });
      expect(rateLimit.enabled).toBe(false);
      expect(rateLimit.tiers.pro).toEqual({ perMinute: 500, perHour: 10000, concurrent: 50 });
      expect(rateLimit.ip.perMinute).toBe(5);
    });

    it('refuse a bad number and an hour limit below the minute limit', () => {
      expect(problemsOf({ RATE_LIMIT_FREE_PER_MINUTE: '0', RATE_LIMIT_ENTERPRISE_PER_HOUR: '999' })).toEqual([
        'RATE_LIMIT_FREE_PER_MINUTE must be an integer between 1 and 1000000000 (got "0")',
        'RATE_LIMIT_ENTERPRISE_PER_HOUR must be at least RATE_LIMIT_ENTERPRISE_PER_MINUTE',
      ]);
    });
  });
});

describe('loadConfig: file store', () => {
  it('keeps files in PostgreSQL by default', () => {
    expect(loadConfig({}).fileStore).toEqual({ kind: 'postgres' });
  });

  it('reads an S3-compatible store', () => {
    expect(
      loadConfig({
        FILE_STORE: 's3',
        S3_BUCKET: 'cocode-files',
        S3_ENDPOINT: 'http://minio:9000',
        S3_REGION: 'eu-west-1',
        S3_ACCESS_KEY_ID: 'key',
        S3_SECRET_ACCESS_KEY: 'secret',
        S3_FORCE_PATH_STYLE: 'true',
      }).fileStore,
    ).toEqual({
      kind: 's3',
      bucket: 'cocode-files',
      endpoint: 'http://minio:9000',
      region: 'eu-west-1',
      accessKeyId: 'key',
      secretAccessKey: 'secret',
      forcePathStyle: true,
    });
    expect(loadConfig({ FILE_STORE: 's3', S3_BUCKET: 'b12' }, 'worker').fileStore).toEqual({
      kind: 's3',
      bucket: 'b12',
      region: 'us-east-1',
      endpoint: undefined,
      accessKeyId: undefined,
      secretAccessKey: undefined,
      forcePathStyle: false,
    });
  });

  it('refuses an unknown store, a missing or bad bucket, half the credentials and a bad endpoint', () => {
    expect(problemsOf({ FILE_STORE: 'disk' })).toEqual([
      'FILE_STORE must be one of postgres, s3 (got "disk")',
    ]);
    expect(problemsOf({ FILE_STORE: 's3' })).toEqual(['FILE_STORE=s3 needs S3_BUCKET']);
    expect(
      problemsOf({
        FILE_STORE: 's3',
        S3_BUCKET: 'Bad_Bucket',
        S3_ACCESS_KEY_ID: 'key',
        S3_ENDPOINT: 'ftp://x',
        S3_REGION: 'EU West',
        S3_FORCE_PATH_STYLE: 'maybe',
      }),
    ).toEqual([
      'S3_BUCKET must be a bucket name: 3 to 63 of a-z, 0-9, "." and "-" (got "Bad_Bucket")',
      'S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together: set both or neither',
      'S3_REGION must be a region name like eu-west-1 (got "EU West")',
      'S3_ENDPOINT must use http: or https: (got "ftp:")',
      'S3_FORCE_PATH_STYLE must be true or false (got "maybe")',
    ]);
  });
});

describe('loadConfig: builds and tests', () => {
  it('keeps workspaces under the temporary directory and no working-directory root', () => {
    const config = loadConfig({ PATH: '/opt/bin:/usr/bin' });
    expect(config.builds.workspaceRoot).toMatch(/cocode\/workspaces$/);
    expect(config.sandbox.path).toBe('/usr/local/bin:/usr/bin:/bin');
    expect(config.builds.leaseSeconds).toBe(30);
    expect(config.tests.workingDirectoryRoots).toEqual([]);
  });

  it('sandboxes with bubblewrap by default and refuses SANDBOX=none in production unless told it is unsafe', () => {
    expect(loadConfig({}).sandbox.executor).toBe('bwrap');
    expect(loadConfig({ SANDBOX: 'none' }).sandbox.executor).toBe('none');
    const prod = { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), SECRETS_ENCRYPTION_KEY: SECRETS_KEY };
    expect(problemsOf({ ...prod, SANDBOX: 'none' })).toEqual([
      "SANDBOX=none runs users' commands on the worker host as the worker: refused in production unless SANDBOX_UNSAFE_HOST=true",
    ]);
    expect(loadConfig({ ...prod, SANDBOX: 'none', SANDBOX_UNSAFE_HOST: 'true' }).sandbox).toEqual(
      expect.objectContaining({ executor: 'none', unsafeHost: true }),
    );
    expect(problemsOf({ SANDBOX: 'docker' })).toEqual(['SANDBOX must be one of bwrap, none (got "docker")']);
  });

  it('gives the worker no signing secret or bootstrap credential, and does not require them in production', () => {
    const prod = { NODE_ENV: 'production', JWT_ALGORITHM: 'RS256', SECRETS_ENCRYPTION_KEY: SECRETS_KEY };
    const worker = loadConfig(
      {
        ...prod,
        JWT_SECRET: 'x'.repeat(40),
        BOOTSTRAP_ADMIN_PASSWORD: 'Admin12345',
        BOOTSTRAP_CLIENT_SECRET: 'y'.repeat(20),
      },
      'worker',
    );
    expect(worker.jwt.secret).toBeUndefined();
    expect(worker.jwt.privateKey).toBeUndefined();
    expect(worker.bootstrap.adminPassword).toBeUndefined();
    expect(worker.bootstrap.clientSecret).toBeUndefined();
    expect(() =>
      loadConfig({ NODE_ENV: 'production', SECRETS_ENCRYPTION_KEY: SECRETS_KEY }, 'worker'),
    ).not.toThrow();
    expect(problemsOf({ NODE_ENV: 'production' })).toContain(
      'JWT_SECRET is required in production (at least 32 characters)',
    );
  });

  it('allows file:// repositories under the temporary directory outside production, nowhere in production by default', () => {
    expect(loadConfig({}).gitFileRoots).toEqual([require('node:os').tmpdir()]);
    expect(
      loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), SECRETS_ENCRYPTION_KEY: SECRETS_KEY })
        .gitFileRoots,
    ).toEqual([]);
    expect(loadConfig({ GIT_FILE_ROOTS: '/srv/git/, /data/repos' }).gitFileRoots).toEqual([
      '/srv/git',
      '/data/repos',
    ]);
    expect(problemsOf({ GIT_FILE_ROOTS: 'relative/path' })).toEqual([
      'GIT_FILE_ROOTS must list absolute paths (got "relative/path")',
    ]);
  });

  it('reads absolute roots, normalised', () => {
    const config = loadConfig({
      WORKSPACES_ROOT: '/srv/ws/',
      TESTS_WORKDIR_ROOTS: '/srv/tests, /home/ci/suites/',
    });
    expect(config.builds.workspaceRoot).toBe('/srv/ws');
    expect(config.tests.workingDirectoryRoots).toEqual(['/srv/tests', '/home/ci/suites']);
  });

  it('refuses relative roots and a lease too short to renew', () => {
    expect(
      problemsOf({ WORKSPACES_ROOT: 'ws', TESTS_WORKDIR_ROOTS: '/ok,rel/dir', BUILDS_LEASE_SECONDS: '1' }),
    ).toEqual([
      'WORKSPACES_ROOT must be an absolute path (got "ws")',
      'BUILDS_LEASE_SECONDS must be an integer between 2 and 3600 (got "1")',
      'TESTS_WORKDIR_ROOTS must list absolute paths (got "rel/dir")',
    ]);
  });
});

describe('loadConfig: queues', () => {
  it('re-enqueues a queued row whose job is gone after a minute, or QUEUE_RECONCILE_AFTER_SECONDS', () => {
    expect(loadConfig({}).queues.reconcileAfterSeconds).toBe(60);
    expect(loadConfig({ QUEUE_RECONCILE_AFTER_SECONDS: '2' }).queues.reconcileAfterSeconds).toBe(2);
    expect(problemsOf({ QUEUE_RECONCILE_AFTER_SECONDS: '0' })).toEqual([
      'QUEUE_RECONCILE_AFTER_SECONDS must be an integer between 1 and 86400 (got "0")',
    ]);
  });
});

describe('AGENTS_MODEL_PRICES', () => {
  it('defaults to the list prices per million tokens, by model prefix', () => {
    const prices = loadConfig({}).agents.modelPrices;
    expect(prices['claude-sonnet-4']).toEqual({ input: 3, output: 15, cacheRead: 0.3 });
    expect(prices['claude-opus-4']).toEqual({ input: 15, output: 75, cacheRead: 1.5 });
  });

  it('takes prefix=input/output/cacheRead entries', () => {
    expect(loadConfig({ AGENTS_MODEL_PRICES: 'my-model=1/2.5/0.1' }).agents.modelPrices).toEqual({
      'my-model': { input: 1, output: 2.5, cacheRead: 0.1 },
    });
  });

  it('refuses an entry it cannot read, naming it', () => {
    expect(problemsOf({ AGENTS_MODEL_PRICES: 'claude-sonnet-4=3/15' })).toEqual([
      'AGENTS_MODEL_PRICES entries must be modelPrefix=input/output/cacheRead in USD per million tokens (got "claude-sonnet-4=3/15")',
    ]);
    expect(problemsOf({ AGENTS_MODEL_PRICES: 'x=a/1/1' })).toHaveLength(1);
  });
});

describe('loadConfig: the secrets encryption key', () => {
  const PROD = { NODE_ENV: 'production', JWT_SECRET: STRONG_SECRET };
  const HELP =
    'SECRETS_ENCRYPTION_KEY must be 32 bytes, as 64 hex digits or base64 (openssl rand -base64 32)';

  it('reads 32 bytes given as base64, url-safe base64 or hex', () => {
    const key = randomBytes(32);
    for (const text of [key.toString('base64'), key.toString('base64url'), key.toString('hex')]) {
      const { secrets } = loadConfig({ ...PROD, SECRETS_ENCRYPTION_KEY: text });
      expect(secrets.encryptionKey.equals(key)).toBe(true);
      expect(secrets.keyDerived).toBe(false);
    }
  });

  it('uses the same fixed development key in every process outside production', () => {
    const gateway = loadConfig({ NODE_ENV: 'test' }).secrets;
    const worker = loadConfig({ NODE_ENV: 'test' }, 'worker').secrets;
    expect(gateway).toEqual({ encryptionKey: DEVELOPMENT_SECRETS_KEY, keyDerived: true });
    expect(worker.encryptionKey.equals(gateway.encryptionKey)).toBe(true);
    expect(DEVELOPMENT_SECRETS_KEY).toHaveLength(32);
  });

  it('is read by the worker too (it decrypts for checkouts): not a gateway-only setting', () => {
    const key = randomBytes(32);
    expect(GATEWAY_ONLY_SETTINGS).not.toContain('SECRETS_ENCRYPTION_KEY');
    const worker = loadConfig({ ...PROD, SECRETS_ENCRYPTION_KEY: key.toString('hex') }, 'worker');
    expect(worker.secrets.encryptionKey.equals(key)).toBe(true);
  });

  it('is required in production, by the gateway and the worker alike', () => {
    expect(problemsOf(PROD)).toEqual([`${HELP}: required in production`]);
    expect(() => loadConfig({ NODE_ENV: 'production' }, 'worker')).toThrow(/SECRETS_ENCRYPTION_KEY/);
  });

  it('refuses a key of another length or encoding, and the development key in production', () => {
    for (const bad of [
      'short',
      randomBytes(16).toString('base64'),
      randomBytes(31).toString('hex'),
      '!'.repeat(44),
    ])
      expect(problemsOf({ SECRETS_ENCRYPTION_KEY: bad })).toEqual([HELP]);
    expect(problemsOf({ ...PROD, SECRETS_ENCRYPTION_KEY: DEVELOPMENT_SECRETS_KEY.toString('hex') })).toEqual([
      'SECRETS_ENCRYPTION_KEY is the public development key: give production a key of its own',
    ]);
  });
});
