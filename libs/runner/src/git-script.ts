import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileRepository, gitEnv, withCredentials } from './git-checkout';
import { Sandbox } from './sandbox/sandbox';

/** git with the transport that runs commands refused. */
export const GIT = 'git -c protocol.ext.allow=never';

const GIT_CONFIG_FILE = '.cocode-gitconfig';

export interface GitScriptOptions {
  sandbox: Sandbox;
  /** The job's workspace on the host (Workspace.dir). */
  workspace: string;
  /** The repository: $1 of the script (a file:// one as its real path, with credentials for http(s)). */
  url: string;
  fileRoots: readonly string[];
  timeoutMs: number;
  jobId: string;
  signal?: AbortSignal;
  /** HTTP basic credentials for an http(s) URL; the caller's output never shows them. */
  credentials?: { username: string; password: string } | null;
}

export type GitScriptResult = { ok: true } | { ok: false; reason: string; aborted?: boolean };

/**
 * Runs a git `script` (arguments as $2...; $1 is the repository URL) in one sandbox with the
 * workspace: a file:// repository is bound (read-only, or writable when the script pushes to it)
 * at its own path and trusted through a global config of this job's alone; any other URL gets the
 * internet. A non-zero exit is reported as `exitReasons[code]` with the last lines git printed.
 */
export async function runGitScript(
  o: GitScriptOptions,
  script: string,
  args: string[],
  opts: {
    push: boolean;
    /** Works on the workspace alone: no repository bound, no network ($1 is empty). */
    local?: boolean;
    env?: Record<string, string>;
    exitReasons?: Record<number, string>;
  },
): Promise<GitScriptResult> {
  let url = opts.local ? '' : o.url;
  const paths: string[] = [];
  if (opts.local) {
    // nothing to reach
  } else if (/^file:/i.test(url)) {
    const repo = await fileRepository(url, o.fileRoots);
    if (!repo.ok) return { ok: false, reason: repo.reason };
    paths.push(repo.path);
    url = `file://${repo.path}`;
  } else if (o.credentials && /^https?:\/\//i.test(url)) {
    url = withCredentials(url, o.credentials);
  }
  const quoted = (p: string) => `"${p.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const safe = paths.flatMap((p) => [p, `${p}/.git`]).map((p) => `\tdirectory = ${quoted(p)}\n`);
  await writeFile(join(o.workspace, GIT_CONFIG_FILE), safe.length ? `[safe]\n${safe.join('')}` : '', {
    mode: 0o644,
  });
  let output = '';
  const secret = o.credentials?.password;
  const r = await o.sandbox.run({
    argv: ['/bin/sh', '-c', script, 'git-script', url, ...args],
    workspace: o.workspace,
    env: {
      ...gitEnv(opts.env ?? {}),
      GIT_CONFIG_GLOBAL: o.sandbox.pathInside(o.workspace, GIT_CONFIG_FILE),
    },
    network: paths.length || opts.local ? 'none' : 'internet',
    readOnlyPaths: opts.push ? [] : paths,
    writablePaths: opts.push ? paths : [],
    timeoutMs: o.timeoutMs,
    signal: o.signal,
    onOutput: (text) => {
      output = (output + text).slice(-2000);
    },
    jobId: o.jobId,
  });
  await rm(join(o.workspace, GIT_CONFIG_FILE), { force: true });
  if (r.outcome === 'timeout')
    return { ok: false, reason: `git timed out after ${Math.round(o.timeoutMs / 1000)} s` };
  if (r.outcome === 'aborted') return { ok: false, reason: 'git was interrupted', aborted: true };
  if (r.outcome !== 'exited') return { ok: false, reason: `git: ${r.reason ?? r.outcome}` };
  if (r.exitCode !== 0) {
    let last = output
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .slice(-3)
      .join('; ');
    if (secret && secret.length >= 4) last = last.split(secret).join('****');
    const what = opts.exitReasons?.[r.exitCode ?? -1] ?? `git failed (exit code ${r.exitCode})`;
    return { ok: false, reason: last ? `${what}: ${last}` : what };
  }
  return { ok: true };
}
