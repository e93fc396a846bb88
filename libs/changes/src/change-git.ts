import { GIT, GitScriptOptions, GitScriptResult, runGitScript } from '@app/runner';
import { lstat, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ChangeCommit, DiffStat } from './change.entity';

/** The most of `git diff base...head` a change keeps (and GET .../diff answers). */
export const CHANGE_DIFF_MAX_BYTES = 2 * 2 ** 20;
/** The most commits a change lists. */
export const CHANGE_MAX_COMMITS = 1000;
/** Who a merge commit is by. */
export const PLATFORM_GIT_IDENTITY = { name: 'OpenClaw CoCode', email: 'cocode@localhost' };

/** Where and how the change's git runs: a workspace of its own, the repository's URL. */
export type ChangeGitOptions = GitScriptOptions;

export type GitOutcome<T> = ({ ok: true } & T) | { ok: false; reason: string };

const COMMITS_FILE = '.cocode-commits';
const NUMSTAT_FILE = '.cocode-numstat';
const DIFF_FILE = '.cocode-diff';
const MERGED_FILE = '.cocode-merged';

/** How a refused push (the base moved, a concurrent push won) is reported. */
export const PUSH_REFUSED = 'the push was refused';

/** Exit codes of the scripts, one per step. */
const STEP = {
  90: 'git clone failed',
  91: 'the base is not in the repository',
  92: 'the head commit is not in the repository',
  93: 'git could not read the commits',
  94: 'the merge has conflicts',
  95: PUSH_REFUSED,
} as Record<number, string>;

/** Runs `script` on the change's repository ($1), its arguments after it. */
function runGit(
  o: ChangeGitOptions,
  script: string,
  args: string[],
  push: boolean,
  env: Record<string, string> = {},
): Promise<GitScriptResult> {
  return runGitScript(o, script, args, { push, env, exitReasons: STEP });
}

/** At most `max` bytes of a regular file the job wrote (never through a link); null when missing. */
async function readCapped(
  path: string,
  max: number,
  keepNul = false,
): Promise<{ text: string; truncated: boolean } | null> {
  const s = await lstat(path).catch(() => null);
  if (!s?.isFile()) return null;
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(Math.min(s.size, max));
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const text = buf.subarray(0, bytesRead).toString('utf8');
    // PostgreSQL text holds no NUL.
    return { text: keepNul ? text : text.replace(/\0/g, ''), truncated: s.size > max };
  } finally {
    await fh.close();
    await rm(path, { force: true });
  }
}

/** `git log --format=%H%x00%an <%ae>%x00%B%x1e` into commits. */
export function parseCommits(text: string): ChangeCommit[] {
  return text
    .split('\x1e')
    .map((entry) => entry.replace(/^\n/, ''))
    .filter((entry) => entry.includes('\0'))
    .map((entry) => {
      const [sha, author, ...message] = entry.split('\0');
      return { sha: sha.trim(), author, message: message.join('').trim() };
    });
}

/** `git diff --numstat` into the stat (a binary file counts as a file with no lines). */
export function parseNumstat(text: string): DiffStat {
  const stat: DiffStat = { files: 0, additions: 0, deletions: 0 };
  for (const line of text.split('\n')) {
    const m = /^(\d+|-)\t(\d+|-)\t/.exec(line);
    if (!m) continue;
    stat.files += 1;
    if (m[1] !== '-') stat.additions += Number(m[1]);
    if (m[2] !== '-') stat.deletions += Number(m[2]);
  }
  return stat;
}

/** What a change keeps of its branch. */
export interface ChangeInspection {
  commits: ChangeCommit[];
  diffStat: DiffStat;
  diff: string;
  diffTruncated: boolean;
}

/**
 * Shell lines, run in a repository (the workspace's top is `..`), that write the commits
 * (`git log base..head`), the stat and the diff (`git diff base...head`) of a change for
 * readInspection; `base` and `head` are shell words ("$2", a ref of the script's own).
 */
export function inspectionScript(base: string, head: string): string[] {
  return [
    `${GIT} log --max-count=${CHANGE_MAX_COMMITS} --no-decorate --format='%H%x00%an <%ae>%x00%B%x1e' ${base}..${head} -- > ../${COMMITS_FILE} || exit 93`,
    `${GIT} diff --numstat ${base}...${head} -- > ../${NUMSTAT_FILE} || exit 93`,
    `${GIT} diff --no-color --no-ext-diff ${base}...${head} -- > ../${DIFF_FILE} || exit 93`,
  ];
}

/** Reads (and removes) what inspectionScript wrote; after a failed script, the failure. */
export async function readInspection(
  workspace: string,
  ran: GitScriptResult,
): Promise<GitOutcome<ChangeInspection>> {
  const commits = await readCapped(join(workspace, COMMITS_FILE), 8 * 2 ** 20, true);
  const numstat = await readCapped(join(workspace, NUMSTAT_FILE), 8 * 2 ** 20);
  const diff = await readCapped(join(workspace, DIFF_FILE), CHANGE_DIFF_MAX_BYTES);
  if (!ran.ok) return ran;
  if (!commits || !numstat || !diff) return { ok: false, reason: 'git wrote no result' };
  // A diff cut at the limit ends at its last whole line.
  const text = diff.truncated ? diff.text.slice(0, diff.text.lastIndexOf('\n') + 1) : diff.text;
  return {
    ok: true,
    commits: parseCommits(commits.text),
    diffStat: parseNumstat(numstat.text),
    diff: text,
    diffTruncated: diff.truncated,
  };
}

/** Commits, stat and diff of a change, from a fresh clone. */
export async function inspectChange(
  o: ChangeGitOptions & { baseSha: string; headSha: string },
): Promise<GitOutcome<ChangeInspection>> {
  const script = [
    `${GIT} clone --quiet --no-checkout -- "$1" src || exit 90`,
    'cd src',
    `${GIT} cat-file -e "$2^{commit}" || exit 91`,
    `${GIT} cat-file -e "$3^{commit}" || exit 92`,
    ...inspectionScript('"$2"', '"$3"'),
  ].join('\n');
  return readInspection(o.workspace, await runGit(o, script, [o.baseSha, o.headSha], false));
}

/**
 * Merges `headSha` into `baseBranch` on a fresh clone and pushes the branch: a fast-forward when
 * the base has not moved since the change was made, else a merge commit by the platform. A
 * conflict or a refused push fails with git's own words; nothing is pushed then.
 */
export async function mergeChange(
  o: ChangeGitOptions & { baseBranch: string; headSha: string; message: string },
): Promise<GitOutcome<{ sha: string }>> {
  const script = [
    `${GIT} clone --quiet --no-checkout -- "$1" src || exit 90`,
    'cd src',
    `${GIT} checkout --quiet -B "$2" "origin/$2" || exit 91`,
    `${GIT} cat-file -e "$3^{commit}" || exit 92`,
    `if ${GIT} merge-base --is-ancestor HEAD "$3"; then`,
    `  ${GIT} merge --quiet --ff-only "$3" || exit 94`,
    'else',
    `  ${GIT} merge --quiet --no-ff --no-edit -m "$4" "$3" || exit 94`,
    'fi',
    `${GIT} rev-parse HEAD > ../${MERGED_FILE} || exit 93`,
    `${GIT} push --quiet origin "HEAD:refs/heads/$2" || exit 95`,
  ].join('\n');
  const id = PLATFORM_GIT_IDENTITY;
  const r = await runGit(o, script, [o.baseBranch, o.headSha, o.message], true, {
    GIT_AUTHOR_NAME: id.name,
    GIT_AUTHOR_EMAIL: id.email,
    GIT_COMMITTER_NAME: id.name,
    GIT_COMMITTER_EMAIL: id.email,
  });
  const merged = await readCapped(join(o.workspace, MERGED_FILE), 200);
  if (!r.ok) return r;
  const sha = merged?.text.trim() ?? '';
  if (!/^[0-9a-f]{40,64}$/.test(sha)) return { ok: false, reason: 'git rev-parse gave no commit id' };
  return { ok: true, sha };
}
