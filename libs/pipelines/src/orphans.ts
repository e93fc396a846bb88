import { readdir, readFile } from 'node:fs/promises';
import { killProcessGroup } from './process-runner';

/**
 * Kills what is left of a process group started by a worker that died (SIGKILL: a detached group
 * outlives its parent). Pids are reused, so it kills only when a member of the group still has
 * `marker` (COCODE_BUILD_ID=...) in its environment. Linux (/proc); elsewhere it does nothing.
 */
export async function killOrphanGroup(pgid: number, marker: string): Promise<boolean> {
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((p) => /^\d+$/.test(p));
  } catch {
    return false;
  }
  for (const pid of pids) {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so split after the last ")".
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== pgid) continue;
      const environ = await readFile(`/proc/${pid}/environ`, 'utf8');
      if (environ.split('\0').includes(marker)) return killProcessGroup(pgid, 'SIGKILL');
    } catch {
      /* gone, or not ours to read */
    }
  }
  return false;
}
