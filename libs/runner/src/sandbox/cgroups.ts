import { mkdir, readdir, readFile, rmdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const FS = '/sys/fs/cgroup';
const GROUP = 'cocode-sandbox';

/** What the kernel counted against one job's cgroup. */
export interface CgroupEvents {
  /** The memory limit was hit and a process was killed for it. */
  oomKilled: boolean;
  /** A fork was refused at the process limit. */
  pidsLimited: boolean;
}

export interface JobLimits {
  memoryBytes: number;
  processes: number;
}

/** One job's cgroup (a directory per controller on cgroup v1, one directory on v2). */
export class JobCgroup {
  constructor(
    private readonly version: 1 | 2,
    /** controller -> directory */
    private readonly dirs: Readonly<Record<string, string>>,
  ) {}

  /** The cgroup.procs files a process writes its pid into to join (before it execs the sandbox). */
  get procsFiles(): string[] {
    return [...new Set(Object.values(this.dirs))].map((d) => join(d, 'cgroup.procs'));
  }

  async events(): Promise<CgroupEvents> {
    const pids = await readKeyed(join(this.dirs.pids, 'pids.events'));
    if (this.version === 2) {
      const mem = await readKeyed(join(this.dirs.memory, 'memory.events'));
      return { oomKilled: (mem.oom_kill ?? 0) > 0, pidsLimited: (pids.max ?? 0) > 0 };
    }
    const oom = await readKeyed(join(this.dirs.memory, 'memory.oom_control'));
    const failcnt = Number(await readFile(join(this.dirs.memory, 'memory.failcnt'), 'utf8').catch(() => '0'));
    return {
      oomKilled: oom.oom_kill !== undefined ? oom.oom_kill > 0 : failcnt > 0,
      pidsLimited: (pids.max ?? 0) > 0,
    };
  }

  /** CPU time used by every process of the job so far, in seconds (null when not accounted). */
  async cpuSeconds(): Promise<number | null> {
    try {
      if (this.version === 2) {
        const s = await readKeyed(join(this.dirs.memory, 'cpu.stat'));
        return s.usage_usec !== undefined ? s.usage_usec / 1e6 : null;
      }
      if (!this.dirs.cpuacct) return null;
      return Number(await readFile(join(this.dirs.cpuacct, 'cpuacct.usage'), 'utf8')) / 1e9;
    } catch {
      return null;
    }
  }

  /** Removes the directories (empty once the sandbox's processes are gone; retried while they exit). */
  async remove(): Promise<void> {
    for (const dir of new Set(Object.values(this.dirs))) {
      for (let i = 0; i < 20; i++) {
        try {
          await rmdir(dir);
          break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') break;
          await new Promise((r) => setTimeout(r, 25));
        }
      }
    }
  }
}

async function readKeyed(file: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const text = await readFile(file, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

/**
 * Per-job memory and process limits (and CPU accounting) through the host's cgroups, v2 or v1,
 * when this process may make cgroups (root, a writable hierarchy). Without them the sandbox falls
 * back to rlimits, and says so in /health/ready.
 */
export class Cgroups {
  private constructor(
    readonly version: 1 | 2,
    /** controller -> the directory jobs' cgroups are made in */
    private readonly parents: Readonly<Record<string, string>>,
  ) {}

  static async detect(): Promise<Cgroups | null> {
    try {
      const controllers = (await readFile(join(FS, 'cgroup.controllers'), 'utf8').catch(() => ''))
        .trim()
        .split(/\s+/);
      if (controllers.includes('pids') && controllers.includes('memory')) {
        const parent = join(FS, GROUP);
        await mkdir(parent, { recursive: true });
        await writeFile(join(FS, 'cgroup.subtree_control'), '+pids +memory +cpu').catch(() =>
          writeFile(join(FS, 'cgroup.subtree_control'), '+pids +memory'),
        );
        await writeFile(join(parent, 'cgroup.subtree_control'), '+pids +memory').catch(() => undefined);
        const found = new Cgroups(2, { pids: parent, memory: parent });
        await found.probe();
        return found;
      }
      if (
        (await exists(join(FS, 'pids', 'cgroup.procs'))) &&
        (await exists(join(FS, 'memory', 'cgroup.procs')))
      ) {
        const parents: Record<string, string> = {
          pids: join(FS, 'pids', GROUP),
          memory: join(FS, 'memory', GROUP),
        };
        for (const name of ['cpuacct', 'cpu,cpuacct'])
          if (await exists(join(FS, name, 'cpuacct.usage'))) {
            parents.cpuacct = join(FS, name, GROUP);
            break;
          }
        for (const dir of Object.values(parents)) await mkdir(dir, { recursive: true });
        const found = new Cgroups(1, parents);
        await found.probe();
        return found;
      }
    } catch {
      /* not ours to make: rlimits only */
    }
    return null;
  }

  /** Makes and removes one cgroup with limits, so a host that cannot is found out at start-up. */
  private async probe(): Promise<void> {
    const cg = await this.create(`probe-${process.pid}`, { memoryBytes: 64 * 2 ** 20, processes: 16 });
    await cg.remove();
  }

  async create(name: string, limits: JobLimits): Promise<JobCgroup> {
    const dirs: Record<string, string> = {};
    for (const [controller, parent] of Object.entries(this.parents)) dirs[controller] = join(parent, name);
    for (const dir of new Set(Object.values(dirs))) await mkdir(dir);
    const job = new JobCgroup(this.version, dirs);
    try {
      await writeFile(join(dirs.pids, 'pids.max'), String(limits.processes));
      if (this.version === 2) {
        await writeFile(join(dirs.memory, 'memory.max'), String(limits.memoryBytes));
        await writeFile(join(dirs.memory, 'memory.swap.max'), '0').catch(() => undefined);
      } else {
        await writeFile(join(dirs.memory, 'memory.limit_in_bytes'), String(limits.memoryBytes));
        await writeFile(join(dirs.memory, 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes)).catch(
          () => undefined,
        );
      }
    } catch (err) {
      await job.remove();
      throw err;
    }
    return job;
  }

  /** Removes the empty cgroups a killed worker left behind (its sandboxes died with it). */
  async removeLeftovers(olderThanMs = 60_000): Promise<void> {
    for (const parent of new Set(Object.values(this.parents))) {
      const names = await readdir(parent, { withFileTypes: true }).catch(() => []);
      for (const d of names) {
        if (!d.isDirectory()) continue;
        const dir = join(parent, d.name);
        const s = await stat(dir).catch(() => null);
        if (s && Date.now() - s.mtimeMs > olderThanMs) await rmdir(dir).catch(() => undefined);
      }
    }
  }
}
