import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig, SandboxLimits } from '@app/core';
import { randomBytes } from 'node:crypto';
import {
  access,
  chmod,
  chown,
  constants,
  cp,
  lchown,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readlink,
  rm,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { killProcessGroup, runProcess } from './process-runner';
import { BwrapPlan, bwrapArgs, ETC_ALLOWED, RootEntry, SANDBOX_WORKSPACE } from './bwrap-args';
import { Cgroups, JobCgroup } from './cgroups';
import { diskUsage } from './disk-usage';
import { connectSandbox, SandboxLink } from './sandbox-network';
import { MODEL_RELAY_PLACEHOLDER_KEY, withForwarder } from '../model-relay/forwarder';

export type SandboxNetwork = 'none' | 'internet';
export const SANDBOX_NETWORKS: readonly SandboxNetwork[] = ['none', 'internet'];

export interface SandboxCommand {
  /** Program and arguments, run inside. */
  argv: string[];
  /** The job's workspace on the host: the only writable place (at /workspace inside). */
  workspace: string;
  /** Working directory relative to the workspace ('' = its top). */
  cwd?: string;
  /** The job's variables (COCODE_*, CI, the user's); PATH, HOME and TMPDIR are added. Nothing else. */
  env: Record<string, string>;
  network?: SandboxNetwork;
  /** Host paths bound read-only at the same path (the file:// repository of a clone). */
  readOnlyPaths?: string[];
  /** Host paths bound read-write at the same path (the file:// repository a merge pushes to). */
  writablePaths?: string[];
  timeoutMs: number;
  /** Aborting kills the job at once (cancel, lost lease, shutdown). */
  signal?: AbortSignal;
  onOutput: (text: string) => void;
  /**
   * A program spoken to over its stdio (Claude Code's stream-json): its stdin reads from `stdin`,
   * its stdout's bytes go to `onStdout` (counted against the output limit), stderr to onOutput.
   */
  stdio?: { stdin: Readable; onStdout: (chunk: Buffer) => void };
  limits?: Partial<SandboxLimits>;
  /** The job's id, for logs and the cgroup's name. */
  jobId: string;
  /**
   * The session's model relay (ModelRelay.socketPath): bound into the sandbox, where a forwarder
   * started before the command serves it at ANTHROPIC_BASE_URL (the sandbox's own loopback, so
   * with network "none" too). ANTHROPIC_API_KEY is a placeholder: the relay adds the real key.
   */
  modelRelay?: { socketPath: string };
}

export type SandboxOutcome = 'exited' | 'timeout' | 'aborted' | 'limit' | 'spawn_error';

export interface SandboxResult {
  outcome: SandboxOutcome;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  durationMs: number;
  /** Why: the limit exceeded (outcome limit) or what failed to start (spawn_error). */
  reason?: string;
}

/** What /health/ready reports of the worker's executor. */
export interface SandboxInfo {
  executor: 'bwrap' | 'none';
  limits: 'cgroup-v2' | 'cgroup-v1' | 'rlimit' | 'none';
  network: 'slirp4netns' | 'unavailable';
  uid: number | null;
}

/** The shell form of a command line. */
export const shell = (command: string): string[] => ['/bin/sh', '-c', command];

/** Joins the job's cgroups, then becomes the sandbox: every process it starts is counted from its first. */
const JOIN_CGROUPS = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"';

const ROOT_NAMES = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];
const MiB = 2 ** 20;

/**
 * The one way a job starts a process. `bwrap` (the default): bubblewrap namespaces, a cleared
 * environment, an unprivileged uid, no reach to the host's services, per-job limits (cgroups when
 * the host lets this process make them, rlimits otherwise), nothing survives the command.
 * `none`: on the host as the worker, for development only (refused in production without
 * SANDBOX_UNSAFE_HOST=true), with a warning at every job.
 */
@Injectable()
export class Sandbox implements OnApplicationShutdown {
  private readonly logger = new Logger(Sandbox.name);
  private ready: Promise<void> | null = null;
  private cgroups: Cgroups | null = null;
  private networkAvailable = false;
  private rootEntries: RootEntry[] = [];
  private etcDir = '';
  private etcDirNetworked = '';
  private bin: Record<'bwrap' | 'setpriv' | 'prlimit' | 'node', string> = {
    bwrap: '',
    setpriv: '',
    prlimit: '',
    node: '',
  };
  private readonly isRoot = process.getuid?.() === 0;

  constructor(private readonly config: AppConfig) {}

  get executor(): 'bwrap' | 'none' {
    return this.config.sandbox.executor;
  }

  /** Checks the executor once (the worker refuses to start when it cannot contain jobs). */
  init(): Promise<void> {
    this.ready ??= this.setup();
    return this.ready;
  }

  info(): SandboxInfo {
    if (this.executor === 'none')
      return { executor: 'none', limits: 'none', network: 'unavailable', uid: null };
    return {
      executor: 'bwrap',
      limits: this.cgroups ? (this.cgroups.version === 2 ? 'cgroup-v2' : 'cgroup-v1') : 'rlimit',
      network: this.networkAvailable ? 'slirp4netns' : 'unavailable',
      uid: this.config.sandbox.uid,
    };
  }

  /** Where the workspace is as the job sees it. */
  pathInside(workspace: string, ...rel: string[]): string {
    return join(this.executor === 'bwrap' ? SANDBOX_WORKSPACE : workspace, ...rel);
  }

  /** Makes the directories the job's uid writes into its own (when the worker is root and jobs are not). */
  async own(...paths: string[]): Promise<void> {
    if (this.executor !== 'bwrap' || !this.isRoot) return;
    for (const p of paths) await chown(p, this.config.sandbox.uid, this.config.sandbox.gid);
  }

  /** `own` for a whole tree the worker wrote (a copied working directory); links are not followed. */
  async ownTree(root: string): Promise<void> {
    if (this.executor !== 'bwrap' || !this.isRoot) return;
    const { uid, gid } = this.config.sandbox;
    const walk = async (path: string): Promise<void> => {
      await lchown(path, uid, gid);
      const s = await lstat(path);
      if (!s.isDirectory()) return;
      for (const name of await readdir(path)) await walk(join(path, name));
    };
    await walk(root);
  }

  async run(cmd: SandboxCommand): Promise<SandboxResult> {
    await this.init();
    return this.executor === 'bwrap' ? this.runContained(cmd) : this.runOnHost(cmd);
  }

  // ---- set-up ------------------------------------------------------------------------------------

  private async setup(): Promise<void> {
    const cfg = this.config.sandbox;
    if (cfg.executor === 'none') {
      this.logger.warn(
        "SANDBOX=none: users' commands run on this host as the worker, with its files and network. Development only.",
      );
      return;
    }
    const find = async (name: string): Promise<string | null> => {
      for (const dir of `${cfg.path}${delimiter}/usr/sbin${delimiter}/sbin`.split(delimiter)) {
        const file = join(dir, name);
        if (await isExecutable(file)) return file;
      }
      return null;
    };
    const bwrap = await find('bwrap');
    if (!bwrap)
      throw new Error(
        'SANDBOX=bwrap but bubblewrap is not installed: install it (Debian/Ubuntu: apt-get install -y bubblewrap slirp4netns), or set SANDBOX=none for development only',
      );
    const setpriv = await find('setpriv');
    const prlimit = await find('prlimit');
    if (!prlimit || (this.isRoot && !setpriv))
      throw new Error(
        'the sandbox needs prlimit and setpriv: install util-linux (apt-get install -y util-linux)',
      );
    // The model relay's forwarder runs with the sandbox's own node: one the sandbox sees (/usr, /bin).
    const node = await find('node');
    const visible = node && /^\/(usr|bin)\//.test(node);
    this.bin = { bwrap, setpriv: setpriv ?? '', prlimit, node: visible ? node : '' };
    this.networkAvailable = Boolean(
      (await find('slirp4netns')) && (await find('nsenter')) && (await find('ip')),
    );

    for (const name of ROOT_NAMES) {
      const s = await lstat(`/${name}`).catch(() => null);
      if (s?.isSymbolicLink()) this.rootEntries.push({ name, link: await readlink(`/${name}`) });
      else if (s?.isDirectory()) this.rootEntries.push({ name, dir: true });
    }
    await this.makeEtc();
    if (this.isRoot) {
      this.cgroups = await Cgroups.detect();
      await this.cgroups?.removeLeftovers();
    }

    // One real sandbox, so a host without user namespaces (or a broken bwrap) is found now, not at a user's build.
    const root = this.config.builds.workspaceRoot;
    await mkdir(root, { recursive: true, mode: 0o711 });
    const probe = await mkdtemp(join(root, 'probe-'));
    try {
      await this.own(probe);
      let output = '';
      const r = await this.runContained({
        argv: ['/bin/sh', '-c', 'echo ok'],
        workspace: probe,
        env: {},
        timeoutMs: 15_000,
        onOutput: (t) => (output += t),
        jobId: 'probe',
      });
      if (r.outcome !== 'exited' || r.exitCode !== 0 || !output.includes('ok'))
        throw new Error(
          `SANDBOX=bwrap cannot start a sandbox here (${r.reason ?? `exit ${r.exitCode}`}): ${output.trim().slice(-500)}. ` +
            'It needs user namespaces (sysctl kernel.unprivileged_userns_clone=1 and user.max_user_namespaces > 0; ' +
            'in a container: the privileges docker-compose.yml gives the worker), the package bubblewrap, and ' +
            `WORKSPACES_ROOT (${root}) and every directory above it searchable by SANDBOX_UID ${cfg.uid}.`,
        );
    } finally {
      await rm(probe, { recursive: true, force: true });
    }
    this.logger.log({ msg: 'sandbox ready', ...this.info() });
  }

  /**
   * This process's sandbox /etc directories (one without, one with a resolver), rebuilt at every
   * start; those of processes that no longer run are removed.
   */
  private async makeEtc(): Promise<void> {
    const cfg = this.config.sandbox;
    const prefix = 'cocode-sandbox-etc-';
    for (const name of await readdir(tmpdir()).catch(() => [] as string[])) {
      const pid = Number(name.slice(prefix.length));
      if (name.startsWith(prefix) && pid !== process.pid && !(await isRunning(pid)))
        await rm(join(tmpdir(), name), { recursive: true, force: true }).catch(() => undefined);
    }
    const base = join(tmpdir(), `${prefix}${process.pid}`);
    await rm(base, { recursive: true, force: true });
    await mkdir(base, { mode: 0o755 });
    await chmod(base, 0o755);
    const files: Record<string, string> = {
      passwd: `root:x:0:0:root:/root:/usr/sbin/nologin\nsandbox:x:${cfg.uid}:${cfg.gid}:sandbox:${SANDBOX_WORKSPACE}/home:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`,
      group: `root:x:0:\nsandbox:x:${cfg.gid}:\nnogroup:x:65534:\n`,
      hosts: '127.0.0.1 localhost sandbox\n::1 localhost\n',
    };
    for (const [dir, extra] of [
      ['etc', {}],
      ['etc-net', { 'resolv.conf': 'nameserver 10.0.2.3\n' }],
    ] as const) {
      const target = join(base, dir);
      await mkdir(target, { mode: 0o755 });
      await chmod(target, 0o755);
      for (const name of ETC_ALLOWED) {
        if (
          !(await lstat(`/etc/${name}`).then(
            () => true,
            () => false,
          ))
        )
          continue;
        // Private keys stay on the host.
        await cp(`/etc/${name}`, join(target, name), {
          recursive: true,
          verbatimSymlinks: true,
          filter: (src) => !src.startsWith('/etc/ssl/private'),
        });
      }
      for (const [name, text] of Object.entries({ ...files, ...extra }))
        await writeFile(join(target, name), text, { mode: 0o644 });
    }
    this.etcDir = join(base, 'etc');
    this.etcDirNetworked = join(base, 'etc-net');
  }

  /** Removes this process's /etc copies (the worker is stopping). */
  async onApplicationShutdown(): Promise<void> {
    if (this.etcDir) await rm(dirname(this.etcDir), { recursive: true, force: true }).catch(() => undefined);
  }

  // ---- executors ---------------------------------------------------------------------------------

  private environment(cmd: SandboxCommand): Record<string, string> {
    return {
      PATH: this.config.sandbox.path,
      HOME: this.pathInside(cmd.workspace, 'home'),
      ...(this.executor === 'bwrap' ? { TMPDIR: '/tmp' } : {}),
      ...cmd.env,
      // The forwarder sets ANTHROPIC_BASE_URL to itself.
      ...(cmd.modelRelay ? { ANTHROPIC_API_KEY: MODEL_RELAY_PLACEHOLDER_KEY } : {}),
    };
  }

  private async runOnHost(cmd: SandboxCommand): Promise<SandboxResult> {
    this.logger.warn({ msg: 'SANDBOX=none: running a job on the host, unconfined', jobId: cmd.jobId });
    const watch = new LimitWatch(
      { ...this.config.sandbox.limits, ...cmd.limits },
      cmd,
      null,
      this.config.sandbox.checkIntervalMs,
    );
    // On the host the forwarder takes any free port of the host's loopback.
    const argv = cmd.modelRelay
      ? withForwarder(process.execPath, 0, cmd.modelRelay.socketPath, cmd.argv)
      : cmd.argv;
    const r = await runProcess(argv[0], argv.slice(1), {
      cwd: join(cmd.workspace, cmd.cwd ?? ''),
      env: this.environment(cmd),
      timeoutMs: cmd.timeoutMs,
      signal: watch.signal,
      onOutput: watch.onOutput,
      stdin: cmd.stdio?.stdin,
      onStdout: cmd.stdio && watch.onStdout,
    });
    watch.stop();
    // Whatever the command left running in the background dies with it.
    if (r.pgid) killProcessGroup(r.pgid, 'SIGKILL');
    return watch.result(r, null);
  }

  /**
   * A networked sandbox waits (bubblewrap's block fd) until slirp4netns has wired it; bubblewrap's
   * own loopback set-up can collide with that and fail. The command has not started then, so it
   * is safe to try again.
   */
  private async runContained(cmd: SandboxCommand): Promise<SandboxResult> {
    for (let attempt = 1; ; attempt++) {
      const { retryable, ...result } = await this.runContainedOnce(cmd);
      if (!retryable || attempt >= 3) return result;
      this.logger.warn({
        msg: 'sandbox network set-up failed before the command started; trying again',
        jobId: cmd.jobId,
        reason: result.reason,
      });
    }
  }

  private async runContainedOnce(outer: SandboxCommand): Promise<SandboxResult & { retryable?: boolean }> {
    const cfg = this.config.sandbox;
    // Until a networked sandbox is released, what it prints is bubblewrap's own set-up (kept for the reason).
    let released = outer.network !== 'internet';
    let early = '';
    const cmd: SandboxCommand = {
      ...outer,
      onOutput: (text) => (released ? outer.onOutput(text) : (early += text.slice(0, 4000))),
    };
    const limits = { ...cfg.limits, ...cmd.limits };
    const networked = cmd.network === 'internet';
    if (cmd.modelRelay && !this.bin.node)
      return {
        outcome: 'spawn_error',
        exitCode: null,
        signal: null,
        durationMs: 0,
        reason: 'the model relay needs node under /usr on this worker (in SANDBOX_PATH)',
      };
    if (networked && !this.networkAvailable)
      return {
        outcome: 'spawn_error',
        exitCode: null,
        signal: null,
        durationMs: 0,
        reason:
          'network "internet" is not available on this worker (install slirp4netns, iproute2 and util-linux)',
      };
    let cgroup: JobCgroup | null = null;
    if (this.cgroups)
      cgroup = await this.cgroups.create(
        `${cmd.jobId.replace(/[^\w-]/g, '_')}-${randomBytes(3).toString('hex')}`,
        limits,
      );
    const plan: BwrapPlan = {
      workspace: cmd.workspace,
      cwd: cmd.cwd ?? '',
      readOnlyPaths: cmd.readOnlyPaths ?? [],
      writablePaths: cmd.writablePaths ?? [],
      rootEntries: this.rootEntries,
      etcDir: networked ? this.etcDirNetworked : this.etcDir,
      uid: cfg.uid,
      gid: cfg.gid,
      tmpBytes: limits.diskBytes,
      networked,
      disableUserns: this.isRoot || !networked,
      argv: cmd.argv,
      modelRelay: cmd.modelRelay && { socketPath: cmd.modelRelay.socketPath, node: this.bin.node },
    };
    let argv = [this.bin.bwrap, ...bwrapArgs(plan)];
    // As root, bubblewrap itself runs as the job's uid: inside and outside the job is nobody the host trusts.
    if (this.isRoot)
      argv = [this.bin.setpriv, `--reuid=${cfg.uid}`, `--regid=${cfg.gid}`, '--clear-groups', '--', ...argv];
    argv = [
      this.bin.prlimit,
      // SIGXCPU at the limit (a readable reason), SIGKILL a second later if it is ignored.
      `--cpu=${limits.cpuSeconds}:${limits.cpuSeconds + 1}`,
      `--fsize=${limits.diskBytes}`,
      '--core=0',
      // Without a pids cgroup, the process count is bounded per uid.
      ...(cgroup ? [] : [`--nproc=${limits.processes}`]),
      '--',
      ...argv,
    ];
    if (cgroup) argv = ['/bin/sh', '-c', JOIN_CGROUPS, 'sh', ...cgroup.procsFiles, '--', ...argv];

    const watch = new LimitWatch(limits, cmd, cgroup, cfg.checkIntervalMs);
    let link: SandboxLink | null = null;
    let networkError: string | null = null;
    try {
      const r = await runProcess(argv[0], argv.slice(1), {
        cwd: '/',
        env: this.environment(cmd),
        timeoutMs: cmd.timeoutMs,
        signal: watch.signal,
        onOutput: watch.onOutput,
        stdin: cmd.stdio?.stdin,
        onStdout: cmd.stdio && watch.onStdout,
        killGraceMs: 0,
        extraPipes: networked ? 2 : 0,
        onChild: (child) => {
          if (!networked) return;
          const info = child.stdio[3] as NodeJS.ReadableStream;
          const block = child.stdio[4] as NodeJS.WritableStream;
          let text = '';
          let wired = false;
          setTimeout(() => {
            if (released || networkError) return;
            networkError = 'network set-up did not finish within 15 s';
            watch.trip(networkError);
          }, 15_000).unref();
          info.on('data', (d: Buffer) => {
            if (wired) return;
            text += d.toString();
            let pid: number;
            try {
              pid = (JSON.parse(text) as { 'child-pid': number })['child-pid'];
            } catch {
              return; // not whole yet
            }
            wired = true;
            connectSandbox(pid, this.isRoot).then(
              (l) => {
                link = l;
                released = true;
                if (early) outer.onOutput(early);
                block.end('1');
              },
              (err: Error) => {
                networkError = `network set-up failed: ${err.message}`;
                watch.trip(networkError);
              },
            );
          });
          info.on('error', () => undefined);
          block.on('error', () => undefined);
        },
      });
      // The sandbox ended before it was wired: bubblewrap's own set-up failed, the command never ran.
      if (!released && !networkError && r.outcome !== 'timeout' && r.outcome !== 'aborted')
        networkError = `the sandbox ended during its network set-up (exit ${r.exitCode ?? r.signal})`;
      if (networkError)
        return {
          outcome: 'spawn_error',
          exitCode: null,
          signal: null,
          durationMs: r.durationMs,
          reason: early.trim() ? `${networkError} (${early.trim()})` : networkError,
          retryable: true,
        };
      return await watch.result(r, cgroup);
    } finally {
      watch.stop();
      (link as SandboxLink | null)?.close();
      // The sandbox's last processes may take a moment to be reaped: the cgroup goes when it is empty, off the job's path.
      void cgroup?.remove();
    }
  }
}

/** Whether `file` exists and this process may run it. */
export const isExecutable = (file: string): Promise<boolean> =>
  access(file, constants.X_OK).then(
    () => true,
    () => false,
  );

const isRunning = (pid: number): Promise<boolean> =>
  Number.isInteger(pid) && pid > 0
    ? access(`/proc/${pid}`).then(
        () => true,
        () => false,
      )
    : Promise.resolve(false);

/** Per-job limits the worker enforces from outside: output, workspace disk, CPU time; and the kernel's verdicts. */
class LimitWatch {
  private readonly controller = new AbortController();
  private tripped: string | null = null;
  private written = 0;
  private timer: NodeJS.Timeout | null = null;
  private checking = false;
  private nextDiskCheck = 0;

  constructor(
    private readonly limits: SandboxLimits,
    private readonly cmd: SandboxCommand,
    private readonly cgroup: JobCgroup | null,
    intervalMs: number,
  ) {
    const outer = cmd.signal;
    if (outer?.aborted) this.controller.abort();
    else outer?.addEventListener('abort', () => this.controller.abort(), { once: true });
    this.timer = setInterval(() => void this.check(), intervalMs);
    this.timer.unref();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Raw stdout of a program spoken to over its stdio: counted as output, passed on whole or not at all. */
  onStdout = (chunk: Buffer): void => {
    if (this.tripped) return;
    if (!this.count(chunk.length)) return;
    this.cmd.stdio?.onStdout(chunk);
  };

  private count(bytes: number): boolean {
    if (this.written + bytes <= this.limits.outputBytes) {
      this.written += bytes;
      return true;
    }
    this.written = this.limits.outputBytes;
    this.trip(this.outputMessage());
    return false;
  }

  private outputMessage(): string {
    return `output limit exceeded (more than ${this.limits.outputBytes} bytes, SANDBOX_MAX_OUTPUT_BYTES): the job was stopped`;
  }

  onOutput = (text: string): void => {
    if (this.tripped) return;
    const bytes = Buffer.byteLength(text);
    if (this.written + bytes > this.limits.outputBytes) {
      const room = this.limits.outputBytes - this.written;
      if (room > 0) this.cmd.onOutput(Buffer.from(text).subarray(0, room).toString('utf8'));
      this.written = this.limits.outputBytes;
      this.trip(this.outputMessage());
      return;
    }
    this.written += bytes;
    this.cmd.onOutput(text);
  };

  trip(reason: string): void {
    if (this.tripped) return;
    this.tripped = reason;
    this.controller.abort();
  }

  private async check(): Promise<void> {
    if (this.checking || this.tripped) return;
    this.checking = true;
    try {
      // A big workspace takes long to walk: look again only after ten times the last walk.
      if (Date.now() >= this.nextDiskCheck) {
        const started = Date.now();
        const used = await diskUsage(this.cmd.workspace, this.limits.diskBytes);
        this.nextDiskCheck = Date.now() + 10 * (Date.now() - started);
        if (used > this.limits.diskBytes) return this.trip(this.diskMessage());
      }
      const cpu = await this.cgroup?.cpuSeconds();
      if (cpu != null && cpu > this.limits.cpuSeconds)
        return this.trip(`CPU time limit exceeded (${this.limits.cpuSeconds} s, SANDBOX_CPU_SECONDS)`);
    } finally {
      this.checking = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private diskMessage(): string {
    return `workspace disk limit exceeded (more than ${Math.round(this.limits.diskBytes / MiB)} MiB, SANDBOX_DISK_MB)`;
  }

  async result(
    r: {
      outcome: 'exited' | 'timeout' | 'aborted' | 'spawn_error';
      exitCode: number | null;
      signal: NodeJS.Signals | null;
      durationMs: number;
      error?: string;
    },
    cgroup: JobCgroup | null,
  ): Promise<SandboxResult> {
    this.stop();
    const base = { exitCode: r.exitCode, signal: r.signal, durationMs: r.durationMs };
    if (r.outcome === 'spawn_error') return { ...base, outcome: 'spawn_error', reason: r.error };
    if (this.tripped) return { ...base, outcome: 'limit', reason: this.tripped };
    if (r.outcome === 'timeout' || r.outcome === 'aborted') return { ...base, outcome: r.outcome };
    const events = await cgroup?.events();
    if (events?.oomKilled)
      return {
        ...base,
        outcome: 'limit',
        reason: `memory limit exceeded (${Math.round(this.limits.memoryBytes / MiB)} MiB, SANDBOX_MEMORY_MB): the kernel killed the job`,
      };
    if (events?.pidsLimited)
      return {
        ...base,
        outcome: 'limit',
        reason: `process limit reached (${this.limits.processes} processes, SANDBOX_MAX_PROCESSES): a fork was refused`,
      };
    // 128 + SIGXCPU / SIGXFSZ: the rlimits' own signals, as the shell reports a child they killed.
    if (r.signal === 'SIGXCPU' || r.exitCode === 152)
      return {
        ...base,
        outcome: 'limit',
        reason: `CPU time limit exceeded (${this.limits.cpuSeconds} s, SANDBOX_CPU_SECONDS)`,
      };
    if (r.signal === 'SIGXFSZ' || r.exitCode === 153)
      return {
        ...base,
        outcome: 'limit',
        reason: `file size limit exceeded (${Math.round(this.limits.diskBytes / MiB)} MiB, SANDBOX_DISK_MB)`,
      };
    return { ...base, outcome: 'exited' };
  }
}
