import { realpath } from 'node:fs/promises';
import { isAbsolute, normalize, resolve, sep } from 'node:path';

const inside = (root: string, path: string) =>
  path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);

/** Why `dir` may not be a suite's working directory (lexically: absolute, inside a configured root), or null. */
export function workingDirectoryProblem(dir: string, roots: readonly string[]): string | null {
  if (!isAbsolute(dir)) return 'workingDirectory must be an absolute path';
  if (!roots.length) return 'no working directory is allowed on this platform (TESTS_WORKDIR_ROOTS is empty)';
  const path = normalize(dir);
  if (!roots.some((r) => inside(resolve(r), path)))
    return `workingDirectory must be inside ${roots.join(' or ')} (TESTS_WORKDIR_ROOTS)`;
  return null;
}

/**
 * The real directory a run may use, symbolic links resolved on both sides, or an error message:
 * a link inside a root pointing elsewhere is refused like the elsewhere itself.
 */
export async function resolveWorkingDirectory(
  dir: string,
  roots: readonly string[],
): Promise<{ ok: true; path: string } | { ok: false; reason: string }> {
  const lexical = workingDirectoryProblem(dir, roots);
  if (lexical) return { ok: false, reason: lexical };
  let path: string;
  try {
    path = await realpath(dir);
  } catch {
    return { ok: false, reason: `workingDirectory ${dir} does not exist on the worker` };
  }
  const realRoots = await Promise.all(roots.map((r) => realpath(r).catch(() => resolve(r))));
  if (!realRoots.some((r) => inside(r, path)))
    return { ok: false, reason: `workingDirectory ${dir} resolves to ${path}, outside TESTS_WORKDIR_ROOTS` };
  return { ok: true, path };
}

/** Why `reportPath` is not acceptable (absolute, or leaving the directory), or null. */
export function reportPathProblem(reportPath: string): string | null {
  if (!reportPath.trim()) return 'reportPath is empty';
  if (isAbsolute(reportPath)) return 'reportPath must be relative to the checkout or working directory';
  if (normalize(reportPath).split(sep).includes('..'))
    return 'reportPath must not leave the directory ("..")';
  return null;
}
