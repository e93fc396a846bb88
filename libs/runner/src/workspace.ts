import { chmod, mkdir, rm } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';

const SAFE_ID = /^[a-z]+_[0-9a-z]{16}$/;

/** True when `path` is `root` or inside it (both absolute and normalised). */
export function isInside(root: string, path: string): boolean {
  const r = resolve(root);
  const p = resolve(path);
  return p === r || p.startsWith(r.endsWith(sep) ? r : r + sep);
}

/**
 * A fresh directory for one job under the configured root, bound as /workspace into the job's
 * sandbox: `src` holds the checkout, `home` is the commands' HOME (so nothing writes to the
 * worker's own home). Only the job's uid (and the worker) may enter it.
 */
export class Workspace {
  readonly dir: string;
  readonly src: string;
  readonly home: string;

  private constructor(root: string, id: string) {
    if (!SAFE_ID.test(id)) throw new Error(`not a workspace id: ${id}`);
    this.dir = join(root, id);
    this.src = join(this.dir, 'src');
    this.home = join(this.dir, 'home');
  }

  /** Empties any leftover of an earlier attempt, then creates the directories, owned by `own`. */
  static async create(
    root: string,
    id: string,
    own?: (...paths: string[]) => Promise<void>,
  ): Promise<Workspace> {
    const ws = new Workspace(root, id);
    await rm(ws.dir, { recursive: true, force: true });
    await mkdir(ws.home, { recursive: true, mode: 0o700 });
    await chmod(ws.dir, 0o700);
    await own?.(ws.dir, ws.home);
    return ws;
  }

  static at(root: string, id: string): Workspace {
    return new Workspace(root, id);
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true, maxRetries: 3 });
  }
}
