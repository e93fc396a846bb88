import { buildProgress, estimateStartDelayMs, typicalDurationSeconds } from './queue-estimate';

describe('estimateStartDelayMs', () => {
  it('starts at once when a slot is free and nobody is ahead', () => {
    expect(estimateStartDelayMs({ slots: 2, runningRemainingMs: [5000], aheadDurationsMs: [] })).toBe(0);
  });

  it('waits for the soonest running build when every slot is busy', () => {
    expect(estimateStartDelayMs({ slots: 2, runningRemainingMs: [5000, 3000], aheadDurationsMs: [] })).toBe(
      3000,
    );
  });

  it('lets the builds ahead take the free slots first, in order', () => {
    // one slot: running 10 s more, then two builds of 60 s ahead of ours
    expect(
      estimateStartDelayMs({ slots: 1, runningRemainingMs: [10_000], aheadDurationsMs: [60_000, 60_000] }),
    ).toBe(130_000);
    // two slots, idle: two builds ahead start now; ours when the shorter ends
    expect(
      estimateStartDelayMs({ slots: 2, runningRemainingMs: [], aheadDurationsMs: [30_000, 90_000] }),
    ).toBe(30_000);
  });

  it('counts builds running beyond the slots as holding slots too', () => {
    expect(estimateStartDelayMs({ slots: 1, runningRemainingMs: [1000, 4000], aheadDurationsMs: [] })).toBe(
      5000,
    );
  });

  it('treats overdue builds as about to finish and needs at least one slot', () => {
    expect(estimateStartDelayMs({ slots: 0, runningRemainingMs: [-500], aheadDurationsMs: [] })).toBe(0);
  });
});

describe('typicalDurationSeconds', () => {
  it('is the mean of the recent durations', () => {
    expect(typicalDurationSeconds([10, 20, 60])).toBe(30);
  });

  it('falls back when there is no history', () => {
    expect(typicalDurationSeconds([])).toBe(60);
    expect(typicalDurationSeconds([], 5)).toBe(5);
    expect(typicalDurationSeconds([NaN, -1], 7)).toBe(7);
  });
});

describe('buildProgress', () => {
  it('is the share of finished stages plus the running stage’s part', () => {
    expect(
      buildProgress([
        { status: 'success' },
        { status: 'success' },
        { status: 'running', progress: 50 },
        { status: 'pending' },
      ]),
    ).toBe(63);
  });

  it('counts skipped and failed stages as done, and is 0 without stages', () => {
    expect(buildProgress([{ status: 'skipped' }, { status: 'failed' }])).toBe(100);
    expect(buildProgress([])).toBe(0);
  });
});
