import { constants } from 'node:fs';
import { lstat, open, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';

/** One kept artifact: `name` is shown and served, `file` is where it lies among the build's stored files. */
export interface StoredArtifact {
  name: string;
  size: number;
  file: string;
  path: string;
}
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
      // A hard link may be another name of a file from outside the workspace: never taken either.
      else if (stat.isFile() && stat.nlink === 1 && matchesAny(path, patterns))
        out.push({ path, size: stat.size });
    }
  };
  await walk('');
  return out;
}

/** A name safe in a URL path segment and a Content-Disposition header: other characters become "_". */
export const sanitizeArtifactName = (name: string): string =>
  name
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^\.+/, '_')
    .slice(0, 200) || '_';

/** Artifact names: the file name when it is unique among the matches, else the path with "/" as "_". */
export function artifactNames(paths: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const p of paths) counts.set(basename(p), (counts.get(basename(p)) ?? 0) + 1);
  const taken = new Set<string>();
  return paths.map((p) => {
    const base = sanitizeArtifactName(
      (counts.get(basename(p)) ?? 0) > 1 ? p.replace(/\//g, '_') : basename(p),
    );
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

/** Stores one artifact's bytes (exactly `size` of them) as `file`; rejects when it could not. */
export type ArtifactSink = (file: string, body: Readable, size: number) => Promise<void>;

/**
 * Streams the matches into `put` (the file store) under numbered file names, `${filePrefix}${i}`
 * (the artifact name is only data, never a path), up to `maxBytes` in all. The files are read
 * from the worker's disk one at a time and never held whole in memory.
 */
export async function storeArtifacts(
  srcDir: string,
  files: readonly FoundFile[],
  put: ArtifactSink,
  maxBytes: number,
  filePrefix = '',
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
    const file = `${filePrefix}${i}`;
    const size = await putRegularFile(join(srcDir, f.path), maxBytes - total, (body, n) =>
      put(file, body, n),
    );
    if (size === null) {
      skipped.push(f);
      continue;
    }
    total += size;
    stored.push({ name: names[i], size, file, path: f.path });
  }
  return { stored, skipped };
}

/**
 * Hands a regular file that has one name, opened without following a link, to `put`; null when the
 * path is a link, another kind of file, a hard link, or bigger than `maxBytes`. The job has ended
 * (nothing of it runs) when artifacts are collected, so the file cannot change between the checks
 * and the read; the store refuses it anyway if its length is not the one announced.
 */
async function putRegularFile(
  from: string,
  maxBytes: number,
  put: (body: Readable, size: number) => Promise<void>,
): Promise<number | null> {
  const src = await open(from, constants.O_RDONLY | constants.O_NOFOLLOW).catch(() => null);
  if (!src) return null;
  let body: Readable | null = null;
  try {
    const stat = await src.stat();
    if (!stat.isFile() || stat.nlink !== 1 || stat.size > maxBytes) return null;
    body = stat.size
      ? src.createReadStream({ start: 0, end: stat.size - 1, autoClose: false, highWaterMark: 1 << 16 })
      : Readable.from([]);
    await put(body, stat.size);
    return stat.size;
  } finally {
    body?.destroy();
    await src.close();
  }
}
