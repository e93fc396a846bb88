/** Git URLs a pipeline or suite may name: https, ssh, git, file (local repositories), or user@host:path. */
const GIT_URL = /^(?:(?:https?|ssh|git|file):\/\/[^\s]+|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+)$/;

const hasControlCharacter = (s: string) =>
  [...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

export function isGitUrl(url: string): boolean {
  // No option injection (a URL starting with "-"), no ext:: transport, no control characters.
  return GIT_URL.test(url) && !url.startsWith('-') && !hasControlCharacter(url);
}

/** A branch name as `git check-ref-format --branch` accepts it (the common rules). */
export function isBranchName(ref: string): boolean {
  return (
    ref.length > 0 &&
    ref.length <= 255 &&
    !ref.startsWith('-') &&
    !ref.startsWith('/') &&
    !ref.endsWith('/') &&
    !ref.endsWith('.') &&
    !ref.endsWith('.lock') &&
    !ref.includes('..') &&
    !ref.includes('//') &&
    !ref.includes('@{') &&
    ref !== '@' &&
    !hasControlCharacter(ref) &&
    !/[ ~^:?*[\\]/.test(ref) &&
    !ref.split('/').some((part) => part.startsWith('.'))
  );
}

/** An abbreviated or full commit id (SHA-1, or SHA-256 repositories). */
export function isCommitSha(commit: string): boolean {
  return /^[0-9a-f]{7,64}$/i.test(commit);
}

/** The URL with its password (or token) replaced, for showing back. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:\s]+):[^/@\s]+@/i, '$1:***@');
}

/** Credentials in a URL, to be masked in logs (git prints the URL it clones). */
export function urlSecrets(url: string): string[] {
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/@:\s]+)(?::([^/@\s]+))?@/i.exec(url);
  if (!m) return [];
  const out = m[2] ? [m[2], decodeURIComponentSafe(m[2])] : [];
  return [...new Set(out)];
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
