import { spawn } from 'node:child_process';

export interface ScriptResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  aborted: boolean;
  /** The last bytes of stdout and stderr, interleaved as they came. */
  output: string;
}

const OUTPUT_TAIL_BYTES = 8 * 1024;
const KILL_GRACE_MS = 2000;

/**
 * Runs `sh -c command` in its own process group, with exactly `env` as its environment. At the
 * timeout (or on abort) the whole group gets SIGTERM, then SIGKILL after a grace period, so a
 * script's children die with it.
 */
export function runScript(
  command: string,
  options: { env: Record<string, string>; cwd: string; timeoutMs: number; signal?: AbortSignal },
): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let tail = Buffer.alloc(0);
    const collect = (chunk: Buffer) => {
      tail = Buffer.concat([tail, chunk]);
      if (tail.length > OUTPUT_TAIL_BYTES) tail = tail.subarray(tail.length - OUTPUT_TAIL_BYTES);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    let timedOut = false;
    let aborted = false;
    let killer: NodeJS.Timeout | null = null;
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        /* already gone */
      }
    };
    const stop = () => {
      killGroup('SIGTERM');
      // Left to fire after the shell exits too: children that ignored SIGTERM die all the same.
      killer ??= setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS).unref();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, options.timeoutMs);
    const onAbort = () => {
      aborted = true;
      stop();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    // 'close' waits for the pipes, which a backgrounded grandchild may hold open for ever: finish
    // on 'exit', giving the pipes a moment to drain.
    child.once('exit', (exitCode, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      let settled = false;
      const finish = () => {
        if (settled) return;
        settled = true;
        clearTimeout(grace);
        child.stdout!.destroy();
        child.stderr!.destroy();
        // Drop a partial UTF-8 character the tail may start with.
        resolve({
          exitCode,
          signal,
          timedOut,
          aborted,
          output: tail.toString('utf8').replace(/^\uFFFD+/, ''),
        });
      };
      const grace = setTimeout(finish, 200);
      const pipes = [child.stdout!, child.stderr!].filter((p) => !p.readableEnded);
      let open = pipes.length;
      for (const pipe of pipes) pipe.once('end', () => --open === 0 && finish());
      if (open === 0) finish();
    });
  });
}
