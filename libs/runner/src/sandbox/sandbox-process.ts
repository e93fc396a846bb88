import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import type { Sandbox, SandboxCommand, SandboxResult } from './sandbox';

/**
 * A sandboxed program spoken to over its stdio, shaped like a ChildProcess (stdin, stdout, kill,
 * exitCode, 'exit' and 'error'): what a library that spawns its own helper process (Claude Code's
 * SDK, through spawnClaudeCodeProcess) is handed instead, so the helper runs in the sandbox.
 * `kill` ends the whole sandbox at once, whatever the signal; `done` is the sandbox's result.
 */
export class SandboxProcess extends EventEmitter {
  readonly stdin = new PassThrough();
  readonly stdout = new PassThrough();
  readonly done: Promise<SandboxResult>;
  private readonly abort = new AbortController();
  private code: number | null = null;
  private ended = false;

  constructor(sandbox: Sandbox, cmd: Omit<SandboxCommand, 'stdio'>) {
    super();
    const outer = cmd.signal;
    if (outer?.aborted) this.abort.abort();
    else outer?.addEventListener('abort', () => this.abort.abort(), { once: true });
    this.done = sandbox
      .run({
        ...cmd,
        signal: this.abort.signal,
        stdio: { stdin: this.stdin, onStdout: (chunk) => this.stdout.write(chunk) },
      })
      .then(
        (r) => {
          this.finish(r.exitCode ?? (r.outcome === 'exited' ? 0 : 137), r.signal);
          if (r.outcome === 'spawn_error')
            this.emit('error', new Error(r.reason ?? 'the sandbox did not start'));
          return r;
        },
        (err: Error) => {
          this.finish(1, null);
          this.emit('error', err);
          throw err;
        },
      );
    // The caller reads `done`; an unread failure is still reported through 'error'.
    this.done.catch(() => undefined);
  }

  get killed(): boolean {
    return this.abort.signal.aborted;
  }

  get exitCode(): number | null {
    return this.code;
  }

  get signalCode(): NodeJS.Signals | null {
    return null;
  }

  kill(_signal?: NodeJS.Signals): boolean {
    if (this.ended) return false;
    this.abort.abort();
    return true;
  }

  private finish(code: number, signal: NodeJS.Signals | null): void {
    if (this.ended) return;
    this.ended = true;
    this.code = code;
    this.stdout.end();
    this.stdin.destroy();
    this.emit('exit', code, signal);
  }
}
