/**
 * Artifact globs, matched against workspace-relative paths with `/` separators:
 * `*` any characters but `/`, `**` any number of whole path segments, `?` one character but `/`,
 * `[abc]` / `[a-z]` / `[!abc]` a class, `{a,b}` alternatives. A pattern without a `/` matches
 * the file name at any depth (`*.jar` finds `build/libs/app.jar`), as .gitignore does.
 * Hand-written (about 60 lines) rather than a new dependency; Node 20's path.matchesGlob is
 * experimental and warns.
 */
export function globToRegExp(glob: string): RegExp {
  const anchored = glob.includes('/') ? glob.replace(/^\.\//, '') : `**/${glob}`;
  let out = '';
  let depth = 0; // inside {...}
  for (let i = 0; i < anchored.length; i++) {
    const c = anchored[i];
    if (c === '*') {
      if (anchored[i + 1] === '*') {
        const atStart = i === 0 || anchored[i - 1] === '/';
        const atEnd = i + 2 === anchored.length || anchored[i + 2] === '/';
        if (atStart && atEnd) {
          // "**/" matches zero or more directories; a trailing "**" everything below.
          if (i + 2 === anchored.length) out += '.*';
          else out += '(?:[^/]+/)*';
          i += 2; // also skips the "/" after "**"
          continue;
        }
        out += '[^/]*';
        i++;
        continue;
      }
      out += '[^/]*';
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[') {
      const close = anchored.indexOf(']', i + 2);
      if (close === -1) {
        out += '\\[';
        continue;
      }
      let body = anchored.slice(i + 1, close);
      const negate = body[0] === '!' || body[0] === '^';
      if (negate) body = body.slice(1);
      out += `[${negate ? '^/' : ''}${body.replace(/[\\\]^]/g, (m) => `\\${m}`)}]`;
      i = close;
    } else if (c === '{') {
      depth++;
      out += '(?:';
    } else if (c === '}' && depth > 0) {
      depth--;
      out += ')';
    } else if (c === ',' && depth > 0) {
      out += '|';
    } else {
      out += c.replace(/[.+^${}()|\\]/g, (m) => `\\${m}`);
    }
  }
  if (depth > 0) throw new Error(`unbalanced "{" in glob "${glob}"`);
  return new RegExp(`^${out}$`);
}

/** Why a glob is not acceptable as an artifact pattern, or null when it is. */
export function globProblem(glob: string): string | null {
  if (!glob.trim()) return 'is empty';
  if (glob.startsWith('/')) return 'must be relative to the workspace';
  if (glob.split('/').includes('..')) return 'must not leave the workspace ("..")';
  if (glob.includes('\0')) return 'contains a NUL character';
  try {
    globToRegExp(glob);
  } catch (err) {
    return (err as Error).message;
  }
  return null;
}

/** True when the workspace-relative path matches any of the globs. */
export function matchesAny(path: string, globs: readonly RegExp[]): boolean {
  return globs.some((g) => g.test(path));
}
