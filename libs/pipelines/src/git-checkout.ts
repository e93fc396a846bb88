import { dirname } from 'node:path';
import { runProcess } from './process-runner';

export interface CheckoutOptions {
  url: string;
  /** A branch; null: the repository's default branch (its HEAD). */
  branch: string | null;
  /** A commit to check out instead of the branch's head. */
  commit: string | null;
  dir: string;
  env: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal;
  onOutput: (text: string) => void;
  onSpawn?: (pgid: number) => void;
}

export type CheckoutResult =
  { ok: true; sha: string } | { ok: false; reason: string; outcome: 'failed' | 'timeout' | 'aborted' };

/** Environment of the git commands: no prompt for credentials (a build must fail, not hang). */
export function gitEnv(base: Record<string, string>): Record<string, string> {
  return { ...base, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: '/bin/true', SSH_ASKPASS: '/bin/true' };
}

/**
 * `git clone` of any URL (file:// included) into `dir`, then a detached checkout of the commit or
 * of origin/<branch>. Arguments are passed without a shell and after `--`; the ext:: transport,
 * which runs commands, is refused.
 */
export async function cloneAndCheckout(o: CheckoutOptions): Promise<CheckoutResult> {
  const deadline = Date.now() + o.timeoutMs;
  const git = async (args: string[], cwd: string, capture?: (s: string) => void) => {
    const r = await runProcess('git', ['-c', 'protocol.ext.allow=never', ...args], {
      cwd,
      env: o.env,
      timeoutMs: Math.max(1, deadline - Date.now()),
      signal: o.signal,
      onOutput: capture ?? o.onOutput,
      onSpawn: o.onSpawn,
    });
    return r;
  };
  const fail = (r: Awaited<ReturnType<typeof git>>, what: string): CheckoutResult =>
    r.outcome === 'timeout'
      ? {
          ok: false,
          outcome: 'timeout',
          reason: `${what} timed out after ${Math.round(o.timeoutMs / 1000)} s`,
        }
      : r.outcome === 'aborted'
        ? { ok: false, outcome: 'aborted', reason: `${what} was interrupted` }
        : {
            ok: false,
            outcome: 'failed',
            reason: r.error
              ? `${what} could not start: ${r.error}`
              : `${what} failed (exit code ${r.exitCode})`,
          };

  const clone = await git(['clone', '--no-checkout', '--quiet', '--', o.url, o.dir], dirname(o.dir));
  if (clone.outcome !== 'exited' || clone.exitCode !== 0) return fail(clone, 'git clone');
  const target = o.commit ?? (o.branch ? `origin/${o.branch}` : 'origin/HEAD');
  const checkout = await git(['checkout', '--quiet', '--detach', target, '--'], o.dir);
  if (checkout.outcome !== 'exited' || checkout.exitCode !== 0) {
    const r = fail(checkout, `git checkout ${o.commit ?? o.branch ?? 'HEAD'}`);
    return r.ok || r.outcome !== 'failed'
      ? r
      : {
          ...r,
          reason: `${o.commit ? `commit ${o.commit}` : `branch ${o.branch}`} not found in the repository`,
        };
  }
  let sha = '';
  const head = await git(['rev-parse', 'HEAD'], o.dir, (s) => (sha += s));
  if (head.outcome !== 'exited' || head.exitCode !== 0) return fail(head, 'git rev-parse');
  return { ok: true, sha: sha.trim() };
}
