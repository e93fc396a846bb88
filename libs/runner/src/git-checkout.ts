import { lstat, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Sandbox } from './sandbox/sandbox';

export interface CheckoutOptions {
  sandbox: Sandbox;
  /** The job's workspace on the host; the checkout goes to its `src`. */
  workspace: string;
  url: string;
  /** A branch; null: the repository's default branch (its HEAD). */
  branch: string | null;
  /** A commit to check out instead of the branch's head. */
  commit: string | null;
  /** Where a file:// repository may be (GIT_FILE_ROOTS). */
  fileRoots: readonly string[];
  env: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal;
  onOutput: (text: string) => void;
  jobId: string;
  /**
   * HTTP basic credentials for an http(s) URL (a project's repository token). Given to the clone
   * only: the checkout's origin is set back to `url` without them, so the job's commands do not
   * find them in .git/config. The caller masks the token in what onOutput receives.
   */
  credentials?: { username: string; password: string } | null;
}

export type CheckoutResult =
  { ok: true; sha: string } | { ok: false; reason: string; outcome: 'failed' | 'timeout' | 'aborted' };

/** Environment of the git commands: no prompt for credentials (a build must fail, not hang), no system config. */
export function gitEnv(base: Record<string, string>): Record<string, string> {
  return {
    ...base,
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '/bin/true',
    SSH_ASKPASS: '/bin/true',
    GIT_CONFIG_NOSYSTEM: '1',
  };
}

const inside = (root: string, path: string) =>
  path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);

/**
 * The local path of a file:// URL when it is under one of `roots` (symbolic links resolved on
 * both sides), else why not. Without the check a file:// URL clones any path of the worker host.
 */
export async function fileRepository(
  url: string,
  roots: readonly string[],
): Promise<{ ok: true; path: string } | { ok: false; reason: string }> {
  let path: string;
  try {
    path = await realpath(fileURLToPath(url));
  } catch {
    return { ok: false, reason: `${url} is not a repository on this worker` };
  }
  const realRoots = await Promise.all(roots.map((r) => realpath(r).catch(() => resolve(r))));
  if (!realRoots.some((r) => inside(r, path)))
    return {
      ok: false,
      reason: roots.length
        ? `file:// repositories must be under ${roots.join(' or ')} (GIT_FILE_ROOTS)`
        : 'file:// repositories are not allowed on this platform (GIT_FILE_ROOTS is empty)',
    };
  return { ok: true, path };
}

/** Exit codes of the checkout script, one per step. */
const CLONE_FAILED = 90;
const CHECKOUT_FAILED = 91;
const SHA_FILE = '.cocode-checkout';
const GIT_CONFIG_FILE = '.cocode-gitconfig';

/**
 * In one sandbox: `git clone` into `src` (a file:// repository is bound read-only into the
 * sandbox; any other URL gets the internet, never the host's network), a detached checkout of the
 * commit or of origin/<branch>, and the commit id. Arguments reach git as positional parameters
 * after `--`, never through a shell; the ext:: transport, which runs commands, is refused. Git
 * never runs on the host against a workspace: a job can plant hooks or `core.fsmonitor` there.
 */
export async function cloneAndCheckout(o: CheckoutOptions): Promise<CheckoutResult> {
  let url = o.url;
  const readOnlyPaths: string[] = [];
  if (/^file:/i.test(url)) {
    const repo = await fileRepository(url, o.fileRoots);
    if (!repo.ok) return { ok: false, outcome: 'failed', reason: repo.reason };
    readOnlyPaths.push(repo.path);
    url = `file://${repo.path}`;
  }
  const plainUrl = url;
  if (o.credentials && /^https?:\/\//i.test(url)) url = withCredentials(url, o.credentials);
  const git = `git -c protocol.ext.allow=never`;
  const script = [
    `${git} clone --no-checkout --quiet -- "$1" src || exit ${CLONE_FAILED}`,
    'cd src',
    ...(url !== plainUrl ? [`${git} remote set-url origin "$3" || exit ${CLONE_FAILED}`] : []),
    `${git} checkout --quiet --detach "$2" -- || exit ${CHECKOUT_FAILED}`,
    `${git} rev-parse HEAD > ../${SHA_FILE}`,
  ].join('\n');
  const target = o.commit ?? (o.branch ? `origin/${o.branch}` : 'origin/HEAD');
  // A file:// repository belongs to another uid than the sandbox's: git trusts it only from global
  // config, here a file of this checkout's alone (GIT_CONFIG_GLOBAL), removed after it.
  const quoted = (p: string) => `"${p.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const safe = readOnlyPaths.flatMap((p) => [p, `${p}/.git`]).map((p) => `\tdirectory = ${quoted(p)}\n`);
  await writeFile(join(o.workspace, GIT_CONFIG_FILE), safe.length ? `[safe]\n${safe.join('')}` : '', {
    mode: 0o644,
  });
  const r = await o.sandbox.run({
    argv: ['/bin/sh', '-c', script, 'checkout', url, target, plainUrl],
    workspace: o.workspace,
    env: { ...gitEnv(o.env), GIT_CONFIG_GLOBAL: o.sandbox.pathInside(o.workspace, GIT_CONFIG_FILE) },
    network: readOnlyPaths.length ? 'none' : 'internet',
    readOnlyPaths,
    timeoutMs: o.timeoutMs,
    signal: o.signal,
    onOutput: o.onOutput,
    jobId: o.jobId,
  });
  await rm(join(o.workspace, GIT_CONFIG_FILE), { force: true });
  if (r.outcome === 'timeout')
    return {
      ok: false,
      outcome: 'timeout',
      reason: `git clone timed out after ${Math.round(o.timeoutMs / 1000)} s`,
    };
  if (r.outcome === 'aborted') return { ok: false, outcome: 'aborted', reason: 'git clone was interrupted' };
  if (r.outcome !== 'exited')
    return { ok: false, outcome: 'failed', reason: `git clone: ${r.reason ?? r.outcome}` };
  if (r.exitCode === CHECKOUT_FAILED)
    return {
      ok: false,
      outcome: 'failed',
      reason: `${o.commit ? `commit ${o.commit}` : `branch ${o.branch ?? 'HEAD'}`} not found in the repository`,
    };
  if (r.exitCode !== 0)
    return { ok: false, outcome: 'failed', reason: `git clone failed (exit code ${r.exitCode})` };
  const file = join(o.workspace, SHA_FILE);
  const stat = await lstat(file).catch(() => null);
  const sha = stat?.isFile() && stat.size < 200 ? (await readFile(file, 'utf8')).trim() : '';
  await rm(file, { force: true });
  if (!/^[0-9a-f]{40,64}$/.test(sha))
    return { ok: false, outcome: 'failed', reason: 'git rev-parse gave no commit id' };
  return { ok: true, sha };
}

/** The URL with `credentials` as its user info (replacing any), percent-encoded. */
export function withCredentials(url: string, credentials: { username: string; password: string }): string {
  const u = new URL(url);
  u.username = encodeURIComponent(credentials.username);
  u.password = encodeURIComponent(credentials.password);
  return u.toString();
}
