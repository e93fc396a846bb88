import type { JobState } from 'bullmq';
import { JobName } from './job-catalogue';

/** States of a job that will still run, or is running: work with such a job needs no other. */
export const LIVE_JOB_STATES: ReadonlySet<JobState> = new Set<JobState>([
  'waiting',
  'prioritized',
  'delayed',
  'active',
  'waiting-children',
]);

/**
 * The id of the job doing `name` for `key` (the row it is about): `build.run-build_k3j9x0a1b2c3d4e5`.
 * BullMQ keeps one job per id (an add under an id it still holds, even finished, is dropped), so
 * whoever enqueues that work under that key (the outbox relay, any number of sweeps at once)
 * makes one job. Keys are ids of [a-z0-9_] (BullMQ refuses ':' in ids).
 */
export function jobIdFor(name: JobName, key: string): string {
  return `${name}-${key}`;
}

/** The id of the n-th re-enqueue of `base` (0: base itself), for when the ids before it are taken by finished jobs. */
export function requeuedJobId(base: string, n: number): string {
  return n === 0 ? base : `${base}-r${n}`;
}

/** An id as a sweep sees it: a job that will run, one that ended (or a remnant of one), or free. */
export type JobSlot = 'live' | 'ended' | 'free';

/** `stored`: Redis holds the job's data (only looked at when the job is in no state list). */
export function jobSlot(state: JobState | 'unknown', stored: boolean): JobSlot {
  if (state !== 'unknown') return LIVE_JOB_STATES.has(state) ? 'live' : 'ended';
  return stored ? 'ended' : 'free';
}

export type JobSearch = { kind: 'live' | 'free'; id: string } | { kind: 'exhausted' };

/**
 * Where the job for `base` stands: walks base, base-r1, base-r2, … and stops at a live job
 * (nothing to add) or past the end of the chain (two free ids in a row: BullMQ removes old
 * finished jobs, which can free an id before later ones). The job goes right after the last
 * taken id. Sweeps looking at once walk the same ids and pick the same one: one job.
 */
export async function findJobSlot(
  base: string,
  maxRequeues: number,
  probe: (id: string) => Promise<JobSlot>,
): Promise<JobSearch> {
  let lastTaken = -1;
  for (let n = 0; n <= maxRequeues + 1 && n <= lastTaken + 2; n++) {
    const id = requeuedJobId(base, n);
    const slot = await probe(id);
    if (slot === 'live') return { kind: 'live', id };
    if (slot === 'ended') lastTaken = n;
  }
  const next = lastTaken + 1;
  return next > maxRequeues ? { kind: 'exhausted' } : { kind: 'free', id: requeuedJobId(base, next) };
}
