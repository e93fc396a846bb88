import { ChildProcess, execFileSync, execSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { ROOT, sandboxTmpDir } from '../support/env';
import { GitRepo } from '../support/git-repo';
import { eventually, TestSystem } from '../support/system';

type Build = {
  buildId: string;
  status: string;
  network: string;
  stages: Array<{ name: string; status: string; reason?: string }>;
  artifacts: Array<{ name: string; size: number; url: string }>;
  error: string | null;
};

/** Checks a node script makes: can it open a TCP connection to host:port? (exit 0: yes) */
const NET_JS =
  "const s=require('net').connect(+process.argv[2],process.argv[1]);s.setTimeout(1500);" +
  "s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1));s.on('timeout',()=>process.exit(1))";

/** Every probe an attacker's command tries: each line says BLOCKED or LEAK. */
const PROBES: Array<[string, string]> = [
  ['env-self', 'env | grep -qE "JWT_SECRET|DATABASE_URL|REDIS_URL|BOOTSTRAP_|CLIENT_SECRET"'],
  ['environ-parent', 'tr "\\0" "\\n" < /proc/$PPID/environ | grep -qE "JWT_SECRET|DATABASE_URL|REDIS_URL"'],
  [
    'environ-all',
    'cat /proc/[0-9]*/environ 2>/dev/null | tr "\\0" "\\n" | grep -qE "JWT_SECRET|DATABASE_URL|REDIS_URL"',
  ],
  // The host's processes by name (the probe's own command line holds these words, so not by command line).
  ['ps-host', 'cat /proc/[0-9]*/comm 2>/dev/null | grep -qxE "postgres|redis-server|node|jest"'],
  ['signal-host', 'kill -0 "$HOST_PID"'],
  ['uid-root', '[ "$(id -u)" = 0 ]'],
  ['read-platform', 'ls "$PLATFORM_DIR/package.json"'],
  ['read-workspaces', 'ls "$WORKSPACES_DIR"'],
  ['read-other-job', 'cat "$OTHER_WS/src/secret.txt"'],
  ['write-usr', 'touch /usr/probe'],
  ['write-etc', 'touch /etc/probe'],
  ['write-root', 'touch /probe'],
  // Stored artifacts live in the file store (PostgreSQL by default, or S3), which only the worker
  // reaches: net-postgres is what keeps a job from reading or replacing another build's files.
  ['net-postgres', 'node -e "$NET_JS" 127.0.0.1 5432'],
  ['net-redis', 'node -e "$NET_JS" 127.0.0.1 6379'],
  ['net-gateway', 'node -e "$NET_JS" 127.0.0.1 "$GATEWAY_PORT"'],
  ['net-worker', 'node -e "$NET_JS" 127.0.0.1 "$WORKER_PORT"'],
  ['net-host-address', 'node -e "$NET_JS" "$HOST_ADDRESS" "$GATEWAY_PORT"'],
  ['net-metadata', 'node -e "$NET_JS" 169.254.169.254 80'],
];

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The probe as one shell command: variables, the probes, then processes meant to outlive the job. */
function probeCommand(vars: Record<string, string>): string {
  const lines = [
    ...Object.entries({ ...vars, NET_JS }).map(([k, v]) => `export ${k}=${quote(v)}`),
    'p() { if eval "$2" >/dev/null 2>&1; then echo "LEAK $1"; else echo "BLOCKED $1"; fi; }',
    ...PROBES.map(([name, cmd]) => `p ${name} ${quote(cmd)}`),
    // Attempts to survive the job: a new session, nohup, a double fork.
    'setsid sleep 3011 >/dev/null 2>&1 &',
    'nohup sleep 3012 >/dev/null 2>&1 &',
    '(sleep 3013 >/dev/null 2>&1 &)',
    'echo probes-done',
  ];
  return lines.join('\n');
}

function expectAllBlocked(output: string): void {
  const results = PROBES.map(([name]) => {
    const m = new RegExp(`^(BLOCKED|LEAK) ${name}$`, 'm').exec(output);
    return [name, m?.[1] ?? 'missing'];
  });
  expect(results).toEqual(PROBES.map(([name]) => [name, 'BLOCKED']));
  expect(output).toContain('probes-done');
}

const hostSleeps = () => {
  try {
    return execSync('pgrep -af "^sleep 30[1-4][0-9]$"', { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
};

/** An address of this machine other than loopback (the gateway listens on all of them). */
const hostAddress = () =>
  Object.values(networkInterfaces())
    .flatMap((l) => l ?? [])
    .find((a) => a.family === 'IPv4' && !a.internal)?.address ?? '127.0.0.1';

describe('the sandbox: untrusted commands cannot reach the platform, other jobs or the host', () => {
  const tmp = sandboxTmpDir('cocode-sandbox-e2e-');
  const workspaces = join(tmp, 'workspaces');
  const repo = new GitRepo(join(tmp, 'repo'));
  let system: TestSystem;
  let admin: string;
  let projectId: string;
  let vars: Record<string, string>;

  beforeAll(async () => {
    repo.commit('v1', {
      'package.json': JSON.stringify({ name: 'probe', version: '1.0.0', scripts: { test: 'node test.js' } }),
      'test.js': "require('assert').strictEqual(1 + 1, 2); console.log('tests passed offline');\n",
    });
    system = await TestSystem.start({
      env: {
        WORKSPACES_ROOT: workspaces,
        GIT_FILE_ROOTS: tmp,
        BUILDS_CONCURRENCY: '2',
        BUILDS_LEASE_SECONDS: '2',
        BUILDS_SWEEP_INTERVAL_MS: '300',
        SANDBOX_MEMORY_MB: '256',
        SANDBOX_MAX_PROCESSES: '100',
        SANDBOX_CPU_SECONDS: '2',
        SANDBOX_DISK_MB: '64',
        SANDBOX_MAX_OUTPUT_BYTES: '200000',
        SANDBOX_CHECK_INTERVAL_MS: '200',
        DEPLOY_LEASE_SECONDS: '2',
        DEPLOY_SWEEP_INTERVAL_MS: '300',
        WEBHOOKS_ALLOW_PRIVATE: 'true',
      },
    });
    admin = await system.adminToken();
    const me = (await system.http.get('/v2/users/me').auth(admin, { type: 'bearer' }).expect(200)).body;
    projectId = (
      await system.http
        .post('/v2/projects')
        .auth(admin, { type: 'bearer' })
        .send({ name: 'Sandbox', key: 'SBX', ownerId: me.id, visibility: 'private' })
        .expect(201)
    ).body.id;
    vars = {
      HOST_PID: String(system.worker.child!.pid),
      PLATFORM_DIR: ROOT,
      WORKSPACES_DIR: workspaces,
      OTHER_WS: join(workspaces, 'build_0000000000000000'),
      GATEWAY_PORT: String(system.gateway.port),
      WORKER_PORT: String(system.worker.port),
      HOST_ADDRESS: hostAddress(),
    };
  });
  afterAll(async () => {
    await system?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  const post = (url: string, body: object) =>
    system.http.post(url).auth(admin, { type: 'bearer' }).send(body);
  const get = (url: string) => system.http.get(url).auth(admin, { type: 'bearer' });
  let seq = 0;
  const pipeline = async (commands: string[], extra: Record<string, unknown> = {}) =>
    (
      await post('/v2/pipelines', {
        projectId,
        name: `p${++seq}`,
        repositoryUrl: repo.url,
        stages: [{ name: 'run', commands }],
        ...extra,
      }).expect(201)
    ).body as { id: string; network: string };
  const trigger = async (pipelineId: string) =>
    (await post(`/v2/pipelines/${pipelineId}/trigger`, {}).expect(202)).body.buildId as string;
  const finished = (id: string, timeoutMs = 30000) =>
    eventually(async () => {
      const b = (await get(`/v2/builds/${id}`).expect(200)).body as Build;
      return ['success', 'failed', 'cancelled'].includes(b.status) ? b : null;
    }, timeoutMs);
  /** SIGKILLs the worker, checks that none of its jobs' processes outlived it, starts it again. */
  const killWorkerThenNothingRuns = async () => {
    await system.worker.kill('SIGKILL');
    try {
      await eventually(async () => (hostSleeps() === '' ? true : null), 5000);
    } finally {
      await system.worker.start();
    }
    vars.HOST_PID = String(system.worker.child!.pid);
  };
  const logOf = async (id: string) => (await get(`/v2/builds/${id}/logs`).expect(200)).text;

  describe('a pipeline stage', () => {
    let produced: Build;

    it('still clones a file:// repository, runs node and npm test offline, and keeps artifacts', async () => {
      const p = await pipeline(
        ['node -v', 'npm test', 'mkdir -p out && echo real > out/real.txt && ln -s /etc/passwd out/link.txt'],
        { artifacts: ['out/*'] },
      );
      expect(p.network).toBe('none');
      produced = await finished(await trigger(p.id));
      expect(produced).toEqual(expect.objectContaining({ status: 'success', network: 'none' }));
      expect(await logOf(produced.buildId)).toContain('tests passed offline');
      // The link to a file outside the workspace is never followed nor kept.
      expect(produced.artifacts.map((a) => a.name)).toEqual(['real.txt']);
    });

    it('blocks every probe, even beside a concurrent build, and leaves that build and stored artifacts alone', async () => {
      const victim = await pipeline(['echo secret-of-a > secret.txt', 'sleep 4']);
      const victimId = await trigger(victim.id);
      await eventually(async () =>
        ((await get(`/v2/builds/${victimId}`).expect(200)).body as Build).status === 'running' ? true : null,
      );
      const attacker = await pipeline([
        probeCommand({
          ...vars,
          OTHER_WS: join(workspaces, victimId),
        }),
      ]);
      const b = await finished(await trigger(attacker.id));
      expect(b.status).toBe('success');
      expectAllBlocked(await logOf(b.buildId));
      expect((await finished(victimId)).status).toBe('success');
      const artifact = await get(`/v2/builds/${produced.buildId}/artifacts/real.txt`).expect(200);
      expect(artifact.text ?? artifact.body.toString()).toBe('real\n');
      // Nothing the stage started in the background outlived it.
      await eventually(async () => (hostSleeps() === '' ? true : null), 5000);
    });

    it('refuses a file:// repository outside GIT_FILE_ROOTS (the platform’s own source)', async () => {
      const p = (
        await post('/v2/pipelines', {
          projectId,
          name: `p${++seq}`,
          repositoryUrl: `file://${ROOT}`,
          stages: [{ name: 'run', commands: ['true'] }],
        }).expect(201)
      ).body as { id: string };
      const b = await finished(await trigger(p.id));
      expect(b.status).toBe('failed');
      expect(b.error).toMatch(/GIT_FILE_ROOTS/);
    });

    it.each([
      ['a fork bomb', "bash -c ':(){ :|:& };:'; sleep 2", /process limit reached/],
      ['a memory hog', 'node -e "const a=[];for(;;)a.push(Buffer.alloc(1e6,1))"', /memory limit exceeded/],
      ['unbounded output', 'yes', /output limit exceeded/],
      [
        'a disk filler',
        'head -c 40000000 /dev/zero > a; head -c 40000000 /dev/zero > b; sleep 1',
        /disk limit exceeded/,
      ],
      ['a CPU burner', 'node -e "for(;;){}"', /CPU time limit exceeded/],
    ])('fails only its own stage for %s, with a readable reason', async (_what, command, reason) => {
      const b = await finished(await trigger((await pipeline([command])).id));
      expect(b.status).toBe('failed');
      expect(b.stages.find((s) => s.name === 'run')?.reason).toMatch(reason);
      expect(b.error).toMatch(reason);
    });

    it('leaves nothing running when the worker is killed mid-build', async () => {
      const p = await pipeline(['setsid sleep 3021 & nohup sleep 3022 >/dev/null 2>&1 & sleep 3023']);
      const id = await trigger(p.id);
      await eventually(async () => (hostSleeps().includes('sleep 3023') ? true : null), 15000);
      await killWorkerThenNothingRuns();
      expect((await finished(id)).status).toBe('failed');
    });
  });

  describe('network "internet"', () => {
    const tag = randomBytes(3).toString('hex');
    // A /30 of TEST-NET-2 of this run's own, so two runs on one machine do not share an address.
    const net = 4 * (randomBytes(1)[0] % 63);
    const [hostIp, publicIp] = [`198.51.100.${net + 1}`, `198.51.100.${net + 2}`];
    const ns = `cocode-e2e-${tag}`;
    const hostIf = `ce${tag}a`;
    let server: ChildProcess | null = null;

    beforeAll(async () => {
      // A "public" host of our own: TEST-NET-2 address in a network namespace this test makes.
      const ip = (...args: string[]) => execFileSync('ip', args);
      ip('netns', 'add', ns);
      ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', `ce${tag}b`);
      ip('link', 'set', `ce${tag}b`, 'netns', ns);
      ip('addr', 'add', `${hostIp}/30`, 'dev', hostIf);
      ip('link', 'set', hostIf, 'up');
      ip('-n', ns, 'addr', 'add', `${publicIp}/30`, 'dev', `ce${tag}b`);
      ip('-n', ns, 'link', 'set', `ce${tag}b`, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      const script = join(tmp, 'public-server.js');
      writeFileSync(
        script,
        "require('http').createServer((q,r)=>r.end('hello from the internet')).listen(8080,process.argv[2],()=>console.log('up'))",
      );
      server = spawn('ip', ['netns', 'exec', ns, process.execPath, script, publicIp], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise((resolve) => server!.stdout!.once('data', resolve));
    });
    afterAll(() => {
      server?.kill('SIGKILL');
      try {
        execFileSync('ip', ['link', 'del', hostIf]);
      } catch {
        /* gone with the namespace */
      }
      execFileSync('ip', ['netns', 'del', ns]);
    });

    const FETCH = () =>
      `node -e "fetch('http://${publicIp}:8080').then(r=>r.text()).then(t=>console.log('got:',t),e=>{console.log('no route:',e.cause?.code);process.exit(3)})"`;

    it('reaches a public address, but still none of the platform’s services or private addresses', async () => {
      const p = await pipeline([FETCH(), probeCommand(vars)], { network: 'internet' });
      expect(p.network).toBe('internet');
      const b = await finished(await trigger(p.id));
      const log = await logOf(b.buildId);
      expect(log).toContain('got: hello from the internet');
      expect(b).toEqual(expect.objectContaining({ status: 'success', network: 'internet' }));
      expectAllBlocked(log);
    });

    it('is off by default', async () => {
      const b = await finished(await trigger((await pipeline([FETCH()])).id));
      expect(b.status).toBe('failed');
      expect(await logOf(b.buildId)).toContain('no route:');
    });

    it('is a validated per-pipeline choice', async () => {
      const res = await post('/v2/pipelines', {
        projectId,
        name: 'bad-network',
        repositoryUrl: repo.url,
        stages: [{ name: 'run', commands: ['true'] }],
        network: 'host',
      }).expect(422);
      expect(res.body.error.details.fields[0].field).toBe('network');
    });
  });

  it('a test-suite command: every probe blocked', async () => {
    const suite = (
      await post('/v2/tests/suites', {
        projectId,
        name: 'probe-suite',
        repositoryUrl: repo.url,
        command: `${probeCommand(vars)}\nmkdir -p r && echo '<testsuite name="s" tests="1"><testcase name="ok"/></testsuite>' > r/junit.xml`,
        reportPath: 'r/junit.xml',
      }).expect(201)
    ).body as { id: string };
    const runId = (await post(`/v2/tests/suites/${suite.id}/run`, {}).expect(202)).body.runId as string;
    const run = await eventually(async () => {
      const r = (await get(`/v2/tests/runs/${runId}`).expect(200)).body as {
        status: string;
        logTail: string;
      };
      return ['passed', 'failed', 'error'].includes(r.status) ? r : null;
    }, 30000);
    expect(run.status).toBe('passed');
    expectAllBlocked(run.logTail);
    await eventually(async () => (hostSleeps() === '' ? true : null), 5000);
  });

  it('a deployment script target: every probe blocked', async () => {
    const app = (
      await post('/v2/applications', {
        projectId,
        name: 'probe-app',
        target: { type: 'script', command: probeCommand(vars) },
      }).expect(201)
    ).body as { id: string };
    const dep = (
      await post('/v2/deployments', { applicationId: app.id, environment: 'dev', version: 'v1' }).expect(202)
    ).body as { deploymentId: string };
    const d = await eventually(async () => {
      const x = (await get(`/v2/deployments/${dep.deploymentId}`).expect(200)).body as {
        status: string;
        steps: Array<{ output: string | null }>;
      };
      return ['succeeded', 'failed', 'rolled_back'].includes(x.status) ? x : null;
    }, 30000);
    expect(d.status).toBe('succeeded');
    expectAllBlocked(String(d.steps[0].output));
    await eventually(async () => (hostSleeps() === '' ? true : null), 5000);
  });

  describe('limits and survivors in test commands and deploy scripts too', () => {
    let appSeq = 0;
    /** Runs `command` as a test suite's command; the finished run. */
    const testCommand = async (command: string) => {
      const suite = (
        await post('/v2/tests/suites', {
          projectId,
          name: `suite-${++appSeq}`,
          repositoryUrl: repo.url,
          command,
          reportPath: 'r/junit.xml',
        }).expect(201)
      ).body as { id: string };
      return (await post(`/v2/tests/suites/${suite.id}/run`, {}).expect(202)).body.runId as string;
    };
    const testRun = (runId: string) =>
      eventually(async () => {
        const r = (await get(`/v2/tests/runs/${runId}`).expect(200)).body as {
          status: string;
          error: string;
        };
        return ['passed', 'failed', 'error'].includes(r.status) ? r : null;
      }, 30000);
    /** Deploys an application whose script target is `command`; the deployment's id. */
    const deployScript = async (command: string) => {
      const app = (
        await post('/v2/applications', {
          projectId,
          name: `limits-${++appSeq}`,
          target: { type: 'script', command },
        }).expect(201)
      ).body as { id: string };
      return (
        await post('/v2/deployments', { applicationId: app.id, environment: 'dev', version: 'v1' }).expect(
          202,
        )
      ).body.deploymentId as string;
    };
    const deployment = (id: string) =>
      eventually(async () => {
        const d = (await get(`/v2/deployments/${id}`).expect(200)).body as {
          status: string;
          steps: Array<{ error: string | null; attempts: number }>;
        };
        return ['succeeded', 'failed', 'rolled_back'].includes(d.status) ? d : null;
      }, 30000);

    it.each([
      ['a fork bomb', "bash -c ':(){ :|:& };:'; sleep 2", /process limit reached/],
      ['a memory hog', 'node -e "const a=[];for(;;)a.push(Buffer.alloc(1e6,1))"', /memory limit exceeded/],
      ['unbounded output', 'yes', /output limit exceeded/],
    ])(
      'stops %s with a readable reason, in a test command and in a deploy script',
      async (_what, command, reason) => {
        const run = await testRun(await testCommand(command));
        expect(run.status).toBe('error');
        expect(run.error).toMatch(reason);
        const d = await deployment(await deployScript(command));
        expect(d.status).toBe('failed');
        expect(d.steps[0].error).toMatch(reason);
      },
    );

    it('leaves nothing running when the worker is killed during a test command or a deploy script', async () => {
      const runId = await testCommand('exec sleep 3041');
      // Idempotent per step, as targets must be: the step resumed after the crash does not sleep again.
      const depId = await deployScript(
        '[ "$DEPLOY_STEP" != batch-1 ] || [ "$DEPLOY_STEP_ATTEMPT" -gt 1 ] || exec sleep 3042',
      );
      await eventually(
        async () =>
          /sleep 3041[\s\S]*sleep 3042|sleep 3042[\s\S]*sleep 3041/.test(hostSleeps()) ? true : null,
        15000,
      );
      await killWorkerThenNothingRuns();
      expect((await testRun(runId)).status).toBe('error');
      const resumed = await deployment(depId);
      expect(resumed.status).toBe('succeeded');
      expect(resumed.steps[0]).toEqual(expect.objectContaining({ attempts: 2 }));
    });
  });

  describe('the worker', () => {
    it('says in /health/ready which executor contains the jobs, and with what', async () => {
      const res = await fetch(`${system.worker.url}/health/ready`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { info: Record<string, unknown> };
      expect(body.info.sandbox).toEqual({
        status: 'up',
        executor: 'bwrap',
        limits: expect.stringMatching(/^(cgroup-v2|cgroup-v1|rlimit)$/),
        network: 'slirp4netns',
        uid: 10001,
      });
    });

    it('refuses to start when bubblewrap cannot be found, naming the package', async () => {
      await expect(system.startWorker({ SANDBOX_PATH: '/nonexistent' })).rejects.toThrow(
        /bubblewrap is not installed.*apt-get install -y bubblewrap/,
      );
    });

    it('holds no signing secret or bootstrap credential in its environment', () => {
      const environ = readFileSync(`/proc/${system.worker.child!.pid}/environ`, 'utf8').split('\0');
      expect(
        environ.some((e) => /^(JWT_SECRET|BOOTSTRAP_ADMIN_PASSWORD|BOOTSTRAP_CLIENT_SECRET)=/.test(e)),
      ).toBe(false);
      expect(environ.some((e) => e.startsWith('DATABASE_URL='))).toBe(true);
    });
  });

  it('keeps no workspace after the jobs', () => {
    mkdirSync(workspaces, { recursive: true });
    expect(execSync(`ls ${workspaces}`, { encoding: 'utf8' }).trim()).toBe('');
  });
});
