// The Sandbox's own spawner (bubblewrap, or the host with SANDBOX=none): not exported from
// @app/runner, so a job can start a process only through Sandbox.run.
import { ChildProcess, spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/** After SIGTERM, a process group gets this long before SIGKILL. */
export const KILL_GRACE_MS = 2000;
/** After the process exits, how long to wait for its output pipes to drain (a background child may hold them). */
const DRAIN_MS = 200;

export interface ProcessOptions {
  cwd: string;
  env: Record<string, string>;
  /** Kill the whole process group after this long. */
  timeoutMs: number;
  /** Aborting kills the whole process group (cancel, lost lease, shutdown). */
  signal?: AbortSignal;
  /** Decoded stdout and stderr, interleaved as they arrive (stderr alone with onStdout). */
  onOutput: (text: string) => void;
  /** Given: the child's stdin reads from it (else it has none). */
  stdin?: Readable;
  /** Given: stdout's raw bytes go here, not to onOutput (a program spoken to over its stdio). */
  onStdout?: (chunk: Buffer) => void;
  /** The process group id (= the child's pid) as soon as it exists. */
  onSpawn?: (pgid: number) => void;
  /** Pipes given to the child as fds 3, 4, ... (the sandbox talks to bubblewrap through them). */
  extraPipes?: number;
  /** The child as soon as it is spawned, for its extra pipes. */
  onChild?: (child: ChildProcess) => void;
  /** After SIGTERM, this long before SIGKILL (default KILL_GRACE_MS; 0: SIGKILL at once). */
  killGraceMs?: number;
}

export type ProcessOutcome = 'exited' | 'timeout' | 'aborted' | 'spawn_error';

export interface ProcessResult {
  outcome: ProcessOutcome;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  durationMs: number;
  pgid: number | null;
  error?: string;
}

/** Signals a process group; false when it no longer exists. */
export function killProcessGroup(pgid: number, signal: NodeJS.Signals = 'SIGKILL'): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs a program in its own process group (spawn detached), so a timeout or a cancel can kill it
 * and everything it started (process.kill(-pgid)): SIGTERM, then SIGKILL after a grace period.
 * Never rejects. Processes left in the background after the program exits are the caller's to
 * reap (killProcessGroup with the returned pgid), so a later command may still use them.
 */
export function runProcess(file: string, args: string[], opts: ProcessOptions): Promise<ProcessResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    let settled = false;
    let reason: ProcessOutcome = 'exited';
    let killTimer: NodeJS.Timeout | null = null;
    let deadline: NodeJS.Timeout | null = null;
    const onAbort = () => terminate('aborted');
    const finish = (result: Omit<ProcessResult, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      if (deadline) clearTimeout(deadline);
      if (killTimer) clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve({ ...result, durationMs: Date.now() - started });
    };

    if (opts.signal?.aborted) {
      resolve({ outcome: 'aborted', exitCode: null, signal: null, pgid: null, durationMs: 0 });
      return;
    }
    const child = spawn(file, args, {
      cwd: opts.cwd,
      env: opts.env,
      detached: true,
      stdio: [
        opts.stdin ? 'pipe' : 'ignore',
        'pipe',
        'pipe',
        ...Array<'pipe'>(opts.extraPipes ?? 0).fill('pipe'),
      ],
    });
    if (opts.stdin && child.stdin) {
      child.stdin.on('error', () => undefined);
      opts.stdin.pipe(child.stdin);
    }
    const pgid = child.pid ?? null;
    if (pgid !== null) opts.onSpawn?.(pgid);
    if (pgid !== null) opts.onChild?.(child);

    const terminate = (why: ProcessOutcome) => {
      if (settled || pgid === null || reason !== 'exited') return;
      reason = why;
      const grace = opts.killGraceMs ?? KILL_GRACE_MS;
      if (grace <= 0) {
        killProcessGroup(pgid, 'SIGKILL');
        return;
      }
      killProcessGroup(pgid, 'SIGTERM');
      killTimer = setTimeout(() => killProcessGroup(pgid, 'SIGKILL'), grace);
    };
    deadline = setTimeout(() => terminate('timeout'), opts.timeoutMs);
    opts.signal?.addEventListener('abort', onAbort);

    let openStreams = 0;
    let drained: (() => void) | null = null;
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      openStreams++;
      const decoder = new StringDecoder('utf8');
      const raw = stream === child.stdout ? opts.onStdout : undefined;
      stream.on('data', (b: Buffer) => {
        if (raw) return raw(b);
        const text = decoder.write(b);
        if (text) opts.onOutput(text);
      });
      stream.on('close', () => {
        const rest = decoder.end();
        if (rest) opts.onOutput(rest);
        if (--openStreams === 0) drained?.();
      });
    }

    child.once('error', (err) => {
      finish({ outcome: 'spawn_error', exitCode: null, signal: null, pgid, error: err.message });
    });
    child.once('exit', (code, signal) => {
      const done = () =>
        finish({ outcome: reason, exitCode: code, signal: signal as NodeJS.Signals | null, pgid });
      if (openStreams === 0) return done();
      const timer = setTimeout(done, DRAIN_MS);
      drained = () => {
        clearTimeout(timer);
        done();
      };
    });
  });
}

/** A command line run by /bin/sh -c in its own process group. */
export function runShell(command: string, opts: ProcessOptions): Promise<ProcessResult> {
  return runProcess('/bin/sh', ['-c', command], opts);
}
