import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Bytes a directory tree takes on disk (allocated blocks, links not followed), counting stops as
 * soon as `stopAbove` is passed: a workspace over its limit is found without walking all of it.
 */
export async function diskUsage(dir: string, stopAbove = Number.POSITIVE_INFINITY): Promise<number> {
  let total = 0;
  const walk = async (path: string): Promise<void> => {
    const s = await lstat(path).catch(() => null);
    if (!s) return;
    total += s.blocks * 512;
    if (total > stopAbove || !s.isDirectory()) return;
    const names = await readdir(path).catch(() => [] as string[]);
    for (const name of names) {
      await walk(join(path, name));
      if (total > stopAbove) return;
    }
  };
  await walk(dir);
  return total;
}
