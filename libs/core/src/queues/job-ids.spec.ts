import { findJobSlot, jobIdFor, JobSlot, jobSlot, requeuedJobId } from './job-ids';

describe('job ids', () => {
  it('are the job name and its key, and the re-enqueues of one add -r<n>, all without ":"', () => {
    const base = jobIdFor('build.run', 'build_k3j9x0a1b2c3d4e5');
    expect(base).toBe('build.run-build_k3j9x0a1b2c3d4e5');
    expect(requeuedJobId(base, 0)).toBe(base);
    expect(requeuedJobId(base, 3)).toBe('build.run-build_k3j9x0a1b2c3d4e5-r3');
    expect(jobIdFor('deployment.start', 'dep_0123456789abcdef-done')).not.toContain(':');
  });

  it('count a waiting, prioritized, delayed, active or parent job as live, a finished one or a remnant as ended', () => {
    for (const state of ['waiting', 'prioritized', 'delayed', 'active', 'waiting-children'] as const)
      expect(jobSlot(state, true)).toBe('live');
    expect(jobSlot('completed', true)).toBe('ended');
    expect(jobSlot('failed', true)).toBe('ended');
    expect(jobSlot('unknown', true)).toBe('ended');
    expect(jobSlot('unknown', false)).toBe('free');
  });
});

describe('findJobSlot', () => {
  /** A queue holding these ids, and the ids the search looked at. */
  const queue = (held: Record<string, JobSlot>) => {
    const probed: string[] = [];
    const probe = async (id: string): Promise<JobSlot> => {
      probed.push(id);
      return held[id] ?? 'free';
    };
    return { probe, probed };
  };

  it('takes the first id when the queue holds nothing (Redis lost the job)', async () => {
    const q = queue({});
    expect(await findJobSlot('b', 20, q.probe)).toEqual({ kind: 'free', id: 'b' });
    expect(q.probed).toEqual(['b', 'b-r1']);
  });

  it('adds nothing while a job of the chain is live', async () => {
    expect(await findJobSlot('b', 20, queue({ b: 'live' }).probe)).toEqual({ kind: 'live', id: 'b' });
    expect(await findJobSlot('b', 20, queue({ b: 'ended', 'b-r1': 'live' }).probe)).toEqual({
      kind: 'live',
      id: 'b-r1',
    });
  });

  it('goes after the last ended job: b-r1 when b finished without taking the row', async () => {
    expect(await findJobSlot('b', 20, queue({ b: 'ended' }).probe)).toEqual({ kind: 'free', id: 'b-r1' });
    expect(await findJobSlot('b', 20, queue({ b: 'ended', 'b-r1': 'ended' }).probe)).toEqual({
      kind: 'free',
      id: 'b-r2',
    });
  });

  it('looks past one id freed by BullMQ removing an old finished job', async () => {
    const q = queue({ 'b-r1': 'ended' });
    expect(await findJobSlot('b', 20, q.probe)).toEqual({ kind: 'free', id: 'b-r2' });
    expect(q.probed).toEqual(['b', 'b-r1', 'b-r2', 'b-r3']);
    expect(await findJobSlot('b', 20, queue({ 'b-r1': 'live' }).probe)).toEqual({ kind: 'live', id: 'b-r1' });
  });

  it('gives up after maxRequeues ended jobs', async () => {
    const held = Object.fromEntries([0, 1, 2, 3].map((n) => [requeuedJobId('b', n), 'ended' as JobSlot]));
    expect(await findJobSlot('b', 3, queue(held).probe)).toEqual({ kind: 'exhausted' });
    const fewer = { ...held, 'b-r3': 'free' as JobSlot };
    expect(await findJobSlot('b', 3, queue(fewer).probe)).toEqual({ kind: 'free', id: 'b-r3' });
  });

  it('picks the same id for sweeps looking at the same queue at once', async () => {
    const held: Record<string, JobSlot> = { b: 'ended' };
    const [a, b] = await Promise.all([
      findJobSlot('b', 20, queue(held).probe),
      findJobSlot('b', 20, queue(held).probe),
    ]);
    expect(a).toEqual(b);
  });
});
