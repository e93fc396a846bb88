/** Used when a pipeline has no finished build yet and the platform has none either. */
export const DEFAULT_BUILD_SECONDS = 60;

export interface QueueSnapshot {
  /** Builds that can run at once (worker slots). */
  slots: number;
  /** For every running build: how long it is still expected to take (ms, >= 0). */
  runningRemainingMs: number[];
  /** For every build ahead of ours in the queue, oldest first: its expected duration (ms). */
  aheadDurationsMs: number[];
}

/**
 * When a newly queued build should start (ms from now): the builds ahead of it take the earliest
 * free slot one after the other, as the FIFO queue hands them out; ours gets the next free slot.
 */
export function estimateStartDelayMs(q: QueueSnapshot): number {
  const slots = Math.max(1, Math.floor(q.slots));
  // When more builds run than there are slots (a worker just left), the soonest to finish free theirs first.
  const running = [...q.runningRemainingMs].map((ms) => Math.max(0, ms)).sort((a, b) => a - b);
  const free: number[] = running.slice(0, slots);
  const overflow = running.slice(slots);
  while (free.length < slots) free.push(0);
  const take = (durationMs: number) => {
    let i = 0;
    for (let j = 1; j < free.length; j++) if (free[j] < free[i]) i = j;
    const start = free[i];
    free[i] = start + Math.max(0, durationMs);
    return start;
  };
  for (const ms of overflow) take(ms);
  for (const ms of q.aheadDurationsMs) take(ms);
  return Math.min(...free);
}

/** The mean of recent durations (seconds), or the fallback when there are none. */
export function typicalDurationSeconds(recent: readonly number[], fallback = DEFAULT_BUILD_SECONDS): number {
  const valid = recent.filter((s) => Number.isFinite(s) && s >= 0);
  if (!valid.length) return fallback;
  return valid.reduce((a, b) => a + b, 0) / valid.length;
}

/** Share of the work done: finished stages (success, failed or skipped) plus the running one's part. */
export function buildProgress(stages: ReadonlyArray<{ status: string; progress?: number }>): number {
  if (!stages.length) return 0;
  let done = 0;
  for (const s of stages) {
    if (s.status === 'running') done += (s.progress ?? 0) / 100;
    else if (s.status !== 'pending') done += 1;
  }
  return Math.min(100, Math.round((done / stages.length) * 100));
}
