import { copyFile, lstat, mkdir, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { StoredArtifact } from './build.entity';
import { globToRegExp, matchesAny } from './glob';

/** Files looked at when matching globs, at most (a workspace with more is not walked further). */
const MAX_FILES_WALKED = 200_000;

export interface FoundFile {
  path: string;
  size: number;
}

/**
 * Regular files of `dir` (relative paths, `/`-separated) matching any glob. Symbolic links are
 * never followed nor taken: a link to /etc/passwd in a repository must not become an artifact.
 * `.git` is skipped.
 */
export async function findArtifacts(dir: string, globs: readonly string[]): Promise<FoundFile[]> {
  if (!globs.length) return [];
  const patterns = globs.map(globToRegExp);
  const out: FoundFile[] = [];
  let walked = 0;
  const walk = async (rel: string): Promise<void> => {
    let entries: string[];
    try {
      entries = (await readdir(join(dir, rel))).sort();
    } catch {
      return;
    }
    for (const name of entries) {
      if (++walked > MAX_FILES_WALKED) return;
      const path = rel ? `${rel}/${name}` : name;
      if (!rel && name === '.git') continue;
      const stat = await lstat(join(dir, path)).catch(() => null);
      if (!stat) continue;
      if (stat.isDirectory()) await walk(path);
      else if (stat.isFile() && matchesAny(path, patterns)) out.push({ path, size: stat.size });
    }
  };
  await walk('');
  return out;
}

/** Artifact names: the file name when it is unique among the matches, else the path with "/" as "_". */
export function artifactNames(paths: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const p of paths) counts.set(basename(p), (counts.get(basename(p)) ?? 0) + 1);
  const taken = new Set<string>();
  return paths.map((p) => {
    const base = (counts.get(basename(p)) ?? 0) > 1 ? p.replace(/\//g, '_') : basename(p);
    let name = base;
    for (let i = 2; taken.has(name); i++) name = `${base}-${i}`;
    taken.add(name);
    return name;
  });
}

export interface StoreResult {
  stored: StoredArtifact[];
  /** Matches left out because the build's artifact budget was spent. */
  skipped: FoundFile[];
}

/**
 * Copies the matches into `targetDir` (ARTIFACTS_ROOT/<buildId>) under numbered file names (the
 * artifact name is only data, never a path), up to `maxBytes` in all.
 */
export async function storeArtifacts(
  srcDir: string,
  files: readonly FoundFile[],
  targetDir: string,
  maxBytes: number,
): Promise<StoreResult> {
  const names = artifactNames(files.map((f) => f.path));
  const stored: StoredArtifact[] = [];
  const skipped: FoundFile[] = [];
  let total = 0;
  for (const [i, f] of files.entries()) {
    if (total + f.size > maxBytes) {
      skipped.push(f);
      continue;
    }
    if (!stored.length) await mkdir(targetDir, { recursive: true });
    const file = String(i);
    await copyFile(join(srcDir, f.path), join(targetDir, file));
    total += f.size;
    stored.push({ name: names[i], size: f.size, file, path: f.path });
  }
  return { stored, skipped };
}
