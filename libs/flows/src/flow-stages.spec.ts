import { flowChanges, orderStages, stepAt } from './flow-stages';

const named = (...names: string[]) => names.map((name) => ({ name }));

describe('flow stages', () => {
  it('puts frontend beside backend (and backend beside frontend) so they run as one step', () => {
    expect(orderStages(['product', 'backend', 'test', 'frontend'])).toEqual([
      'product',
      'backend',
      'frontend',
      'test',
    ]);
    expect(orderStages(['frontend', 'api', 'backend'])).toEqual(['frontend', 'backend', 'api']);
    expect(orderStages(['product', 'backend', 'test'])).toEqual(['product', 'backend', 'test']);
    expect(orderStages(['api', 'backend', 'frontend'])).toEqual(['api', 'backend', 'frontend']);
  });

  it('a step is one stage, or backend and frontend together', () => {
    const stages = named('product', 'backend', 'frontend', 'test');
    expect(stepAt(stages, 0)).toEqual([0]);
    expect(stepAt(stages, 1)).toEqual([1, 2]);
    expect(stepAt(stages, 3)).toEqual([3]);
    expect(stepAt(stages, 4)).toEqual([]);
    expect(stepAt(named('frontend', 'backend'), 0)).toEqual([0, 1]);
    expect(stepAt(named('backend', 'test', 'frontend'), 0)).toEqual([0]);
  });

  it('lists the changes of the flow once each, in the order they were opened', () => {
    expect(
      flowChanges([{ changeId: null }, { changeId: 'chg_a' }, { changeId: 'chg_b' }, { changeId: 'chg_a' }]),
    ).toEqual(['chg_a', 'chg_b']);
    expect(flowChanges([{ changeId: null }])).toEqual([]);
  });
});
