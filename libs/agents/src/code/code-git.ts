import { ChangeInspection, GitOutcome, inspectionScript, readInspection } from '@app/changes';
import { GIT, GitScriptOptions, GitScriptResult, runGitScript } from '@app/runner';
import { lstat, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** Who the code agents' commits are by. */
export const agentIdentity = (agentType: string) => ({
  name: `${agentType} agent`,
  email: 'agents@cocode.local',
});

/** git on the workspace the model wrote: none of its hooks, filters' helpers or monitors run. */
const SAFE_GIT = `${GIT} -c core.hooksPath=/dev/null -c core.fsmonitor=false -c commit.gpgSign=false`;

const REASONS: Record<number, string> = {
  90: 'git clone failed',
  91: 'the branch could not be checked out',
  93: 'git failed',
  95: 'the push was refused',
};

const BASE_FILE = '.cocode-base';
const HEAD_FILE = '.cocode-head';

/** A commit id git wrote to a file of the workspace (never through a link), and removes it. */
async function readSha(workspace: string, name: string): Promise<string | null> {
  const path = join(workspace, name);
  const s = await lstat(path).catch(() => null);
  const text = s?.isFile() && s.size < 200 ? (await readFile(path, 'utf8')).trim() : '';
  await rm(path, { force: true });
  return /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(text) ? text : null;
}

export type ShaResult = { ok: true; sha: string } | { ok: false; reason: string; aborted?: boolean };

const withSha = async (r: GitScriptResult, workspace: string, file: string): Promise<ShaResult> => {
  if (!r.ok) return r;
  const sha = await readSha(workspace, file);
  return sha ? { ok: true, sha } : { ok: false, reason: 'git rev-parse gave no commit id' };
};

/**
 * A fresh clone in `src` on a new local branch: from the default branch, or (`resume`) from the
 * agent's branch as it was pushed. The origin is set back to the URL without credentials, so the
 * session finds none in .git/config. Answers the default branch's commit (the change's base).
 */
export async function prepareBranch(
  o: GitScriptOptions,
  plainUrl: string,
  defaultBranch: string,
  branch: string,
  resume: boolean,
): Promise<
  { ok: true; baseSha: string; headSha: string } | { ok: false; reason: string; aborted?: boolean }
> {
  const script = [
    `${GIT} clone --quiet --no-checkout -- "$1" src || exit 90`,
    'cd src',
    `${GIT} remote set-url origin "$5" || exit 90`,
    `${GIT} rev-parse --verify --quiet "refs/remotes/origin/$2^{commit}" > ../${BASE_FILE} || exit 91`,
    `if [ "$4" = resume ]; then start="origin/$3"; else start="origin/$2"; fi`,
    `${GIT} checkout --quiet -B "$3" "$start" -- || exit 91`,
    `${GIT} rev-parse HEAD > ../${HEAD_FILE} || exit 93`,
  ].join('\n');
  const r = await runGitScript(o, script, [defaultBranch, branch, resume ? 'resume' : 'new', plainUrl], {
    push: false,
    exitReasons: REASONS,
  });
  const base = await withSha(r, o.workspace, BASE_FILE);
  const head = await withSha(r, o.workspace, HEAD_FILE);
  if (!base.ok) return base;
  if (!head.ok) return head;
  return { ok: true, baseSha: base.sha, headSha: head.sha };
}

/**
 * Commits everything the session changed in `src` (nothing new: the head as it was), by the
 * agent, with the activation as a trailer. Runs in the sandbox, without the repository.
 */
export async function commitAll(
  o: GitScriptOptions,
  agentType: string,
  subject: string,
  activationId: string,
): Promise<ShaResult & { committed?: boolean }> {
  const script = [
    'cd src || exit 93',
    `${SAFE_GIT} add -A -- . || exit 93`,
    `if ${SAFE_GIT} diff --cached --quiet; then ${SAFE_GIT} rev-parse HEAD > ../${HEAD_FILE}; exit 0; fi`,
    `${SAFE_GIT} commit --quiet --no-verify -m "$2" -m "Activation: $3" || exit 93`,
    `${SAFE_GIT} rev-parse HEAD > ../${HEAD_FILE} || exit 93`,
  ].join('\n');
  const id = agentIdentity(agentType);
  const r = await runGitScript(o, script, [subject, activationId], {
    push: false,
    local: true,
    env: {
      GIT_AUTHOR_NAME: id.name,
      GIT_AUTHOR_EMAIL: id.email,
      GIT_COMMITTER_NAME: id.name,
      GIT_COMMITTER_EMAIL: id.email,
    },
    exitReasons: REASONS,
  });
  return withSha(r, o.workspace, HEAD_FILE);
}

/**
 * Pushes the workspace's head to `branch` from a bare repository of the platform's own (the
 * commits fetched into it): the workspace's config and hooks, which the model could write, never
 * run beside the credentials or the writable repository. In the same sandbox it reads the
 * change's commits, stat and diff against `baseSha` there, so opening the change clones nothing.
 */
export async function pushBranch(
  o: GitScriptOptions,
  branch: string,
  baseSha: string,
): Promise<GitOutcome<ChangeInspection>> {
  const script = [
    'rm -rf push.git',
    `${GIT} init --quiet --bare push.git || exit 93`,
    'cd push.git',
    `${GIT} fetch --quiet --no-tags ../src "+HEAD:refs/heads/cocode-push" || exit 93`,
    `${GIT} push --quiet "$1" "refs/heads/cocode-push:refs/heads/$2" || exit 95`,
    ...inspectionScript('"$3"', 'refs/heads/cocode-push'),
    'cd .. && rm -rf push.git',
  ].join('\n');
  const r = await runGitScript(o, script, [branch, baseSha], { push: true, exitReasons: REASONS });
  return readInspection(o.workspace, r);
}
