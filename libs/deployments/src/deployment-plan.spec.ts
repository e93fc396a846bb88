import {
  nextMove,
  planFor,
  PlannedStep,
  progressOf,
  restoreStepFor,
  StepState,
  StepStatus,
} from './deployment-plan';

const summary = (steps: PlannedStep[]) => steps.map((s) => [s.name, s.action, s.percent, s.colour]);
const withStatuses = (steps: PlannedStep[], ...statuses: StepStatus[]): StepState[] =>
  steps.map((s, i) => ({ ...s, status: statuses[i] ?? 'pending' }));
const live = { version: '1.0.0', colour: 'blue' as const };

describe('planFor', () => {
  it('rolls out in batches, each moving a further share of the instances', () => {
    expect(summary(planFor('rolling', { version: '2.0.0', rollingBatches: 3, liveColour: null }))).toEqual([
      ['batch-1', 'deploy', 33, null],
      ['batch-2', 'deploy', 67, null],
      ['batch-3', 'deploy', 100, null],
    ]);
    expect(summary(planFor('rolling', { version: '2.0.0', rollingBatches: 1, liveColour: null }))).toEqual([
      ['batch-1', 'deploy', 100, null],
    ]);
  });

  it('deploys blue-green to the idle colour, checks it, then switches traffic to it', () => {
    expect(
      summary(planFor('blue-green', { version: '2.0.0', rollingBatches: 3, liveColour: 'blue' })),
    ).toEqual([
      ['deploy-green', 'deploy', 0, 'green'],
      ['health-check-green', 'health-check', 0, 'green'],
      ['switch-to-green', 'switch', 100, 'green'],
    ]);
    expect(
      planFor('blue-green', { version: '2.0.0', rollingBatches: 3, liveColour: 'green' })[0].colour,
    ).toBe('blue');
    // Nothing live yet: blue first.
    expect(planFor('blue-green', { version: '2.0.0', rollingBatches: 3, liveColour: null })[0].colour).toBe(
      'blue',
    );
  });

  it('moves a canary 10% -> 50% -> 100% with a health check between', () => {
    expect(summary(planFor('canary', { version: '2.0.0', rollingBatches: 3, liveColour: null }))).toEqual([
      ['canary-10', 'deploy', 10, null],
      ['health-check-10', 'health-check', 10, null],
      ['canary-50', 'deploy', 50, null],
      ['health-check-50', 'health-check', 50, null],
      ['canary-100', 'deploy', 100, null],
    ]);
  });

  it('plans every step of the new version as rollout', () => {
    for (const strategy of ['rolling', 'blue-green', 'canary'] as const)
      for (const step of planFor(strategy, { version: '2.0.0', rollingBatches: 2, liveColour: null }))
        expect(step).toEqual(expect.objectContaining({ version: '2.0.0', phase: 'rollout' }));
  });
});

describe('restoreStepFor', () => {
  const canary = planFor('canary', { version: '2.0.0', rollingBatches: 3, liveColour: null });
  const blueGreen = planFor('blue-green', { version: '2.0.0', rollingBatches: 3, liveColour: 'blue' });

  it('restores the previous version once the new one took traffic', () => {
    expect(restoreStepFor('canary', withStatuses(canary, 'succeeded', 'failed'), live)).toEqual({
      name: 'restore',
      action: 'restore',
      percent: 100,
      colour: null,
      version: '1.0.0',
      phase: 'restore',
    });
  });

  it('restores a rolling deployment whose first batch failed half-way', () => {
    const rolling = planFor('rolling', { version: '2.0.0', rollingBatches: 3, liveColour: null });
    expect(restoreStepFor('rolling', withStatuses(rolling, 'failed'), live)?.version).toBe('1.0.0');
  });

  it('leaves a blue-green alone that failed before its switch: the live colour never changed', () => {
    expect(restoreStepFor('blue-green', withStatuses(blueGreen, 'succeeded', 'failed'), live)).toBeNull();
  });

  it('switches a blue-green back to the live colour when the switch failed', () => {
    expect(
      restoreStepFor('blue-green', withStatuses(blueGreen, 'succeeded', 'succeeded', 'failed'), live),
    ).toEqual(
      expect.objectContaining({ name: 'restore-blue', action: 'restore', colour: 'blue', version: '1.0.0' }),
    );
  });

  it('has nothing to restore on the first deployment of an environment', () => {
    expect(
      restoreStepFor('canary', withStatuses(canary, 'succeeded', 'failed'), { version: null, colour: null }),
    ).toBeNull();
  });
});

describe('nextMove', () => {
  const canary = planFor('canary', { version: '2.0.0', rollingBatches: 3, liveColour: null });

  it('runs the first step not done, and re-runs one left running by a lost worker', () => {
    expect(nextMove('canary', withStatuses(canary), live)).toEqual({
      kind: 'run',
      step: expect.objectContaining({ name: 'canary-10' }),
    });
    expect(nextMove('canary', withStatuses(canary, 'succeeded', 'running'), live)).toEqual({
      kind: 'run',
      step: expect.objectContaining({ name: 'health-check-10', status: 'running' }),
    });
  });

  it('finishes succeeded when every rollout step succeeded', () => {
    expect(nextMove('canary', withStatuses(canary, ...canary.map(() => 'succeeded' as const)), live)).toEqual(
      {
        kind: 'finish',
        outcome: 'succeeded',
      },
    );
  });

  it('aborts a failed rollout: skips the rest and adds a restore, runs it, then finishes failed', () => {
    const failed = withStatuses(canary, 'succeeded', 'failed');
    const abort = nextMove('canary', failed, live);
    expect(abort).toEqual({
      kind: 'abort',
      skip: ['canary-50', 'health-check-50', 'canary-100'],
      restore: expect.objectContaining({ name: 'restore', version: '1.0.0' }),
    });
    const after: StepState[] = [
      ...withStatuses(canary, 'succeeded', 'failed', 'skipped', 'skipped', 'skipped'),
      { ...(abort as { restore: PlannedStep }).restore, status: 'pending' },
    ];
    expect(nextMove('canary', after, live)).toEqual({
      kind: 'run',
      step: expect.objectContaining({ name: 'restore' }),
    });
    after[after.length - 1].status = 'succeeded';
    expect(nextMove('canary', after, live)).toEqual({ kind: 'finish', outcome: 'failed' });
    after[after.length - 1].status = 'failed';
    expect(nextMove('canary', after, live)).toEqual({ kind: 'finish', outcome: 'failed' });
  });

  it('finishes failed at once when nothing is left and nothing needs undoing', () => {
    const blueGreen = planFor('blue-green', { version: '2.0.0', rollingBatches: 3, liveColour: 'blue' });
    expect(nextMove('blue-green', withStatuses(blueGreen, 'succeeded', 'failed'), live)).toEqual({
      kind: 'abort',
      skip: ['switch-to-green'],
      restore: null,
    });
    expect(nextMove('blue-green', withStatuses(blueGreen, 'succeeded', 'failed', 'skipped'), live)).toEqual({
      kind: 'finish',
      outcome: 'failed',
    });
  });
});

describe('progressOf', () => {
  it('is the share of rollout steps that succeeded', () => {
    const rolling = planFor('rolling', { version: '2.0.0', rollingBatches: 4, liveColour: null });
    expect(progressOf(withStatuses(rolling))).toBe(0);
    expect(progressOf(withStatuses(rolling, 'succeeded', 'running'))).toBe(25);
    expect(progressOf(withStatuses(rolling, 'succeeded', 'succeeded', 'succeeded', 'succeeded'))).toBe(100);
  });
});
