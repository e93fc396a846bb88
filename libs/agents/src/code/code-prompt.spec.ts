import { acceptanceCriteriaOf, codePrompt, repairPrompt } from './code-prompt';

const task = {
  key: 'SHOP-7',
  title: 'Cart total',
  description: 'Sum the cart.',
  type: 'story',
  priority: 'high',
  labels: ['backend'],
};

describe('code agent prompts', () => {
  it('gives the task, the role, the criteria, the requester’s input and the upstream documents in order', () => {
    const p = codePrompt({
      agentType: 'backend',
      task,
      input: { acceptanceCriteria: ['total of [] is 0', 'adds prices'], note: 'use cents' },
      documents: [
        { kind: 'api-spec', title: 'API', content: 'GET /cart' },
        { kind: 'prd', title: 'PRD v1', content: 'The cart sums.' },
      ],
      branch: 'cocode/SHOP-7-backend-1',
    });
    expect(p).toContain('You are the backend developer.');
    expect(p).toContain('# Task SHOP-7: Cart total');
    expect(p).toContain('Labels: backend.');
    expect(p).toContain('- total of [] is 0\n- adds prices');
    expect(p).toContain('- note: use cents');
    expect(p.indexOf('PRD v1')).toBeLessThan(p.indexOf('GET /cart'));
    expect(p).toContain('on the branch cocode/SHOP-7-backend-1');
  });

  it('shows the test agent the change it adds to', () => {
    const p = codePrompt({
      agentType: 'test',
      task,
      input: {},
      documents: [],
      branch: 'cocode/SHOP-7-backend-1',
      change: { id: 'chg_1', diff: '+++ b/src/cart.js\n+module.exports = 1;' },
    });
    expect(p).toContain('You are the test engineer.');
    expect(p).toContain('## The change under test (chg_1, on this branch)\n\n```diff\n+++ b/src/cart.js');
  });

  it('reads acceptance criteria from a list or a text', () => {
    expect(acceptanceCriteriaOf({ acceptanceCriteria: '- one\n2. two\n\n' })).toEqual(['one', 'two']);
    expect(acceptanceCriteriaOf({ acceptance_criteria: ['a', ' '] })).toEqual(['a']);
    expect(acceptanceCriteriaOf({})).toEqual([]);
  });

  it('tells a repair session which stage failed and the end of its log', () => {
    const p = repairPrompt({
      round: 1,
      rounds: 2,
      stage: 'test',
      reason: 'exit 1',
      logTail: 'not ok 1 - adds',
    });
    expect(p).toContain('repair round 1 of 2');
    expect(p).toContain('Failing stage: test. exit 1');
    expect(p).toContain('not ok 1 - adds');
    expect(p).not.toContain('JUnit');
    const many = Array.from({ length: 25 }, (_, i) => ({ name: `case ${i}`, message: i ? null : 'boom' }));
    const withJUnit = repairPrompt({
      round: 2,
      rounds: 2,
      stage: null,
      reason: 'timeout',
      logTail: '',
      failures: many,
    });
    expect(withJUnit).toContain('Failed tests (JUnit, 25):\n- case 0: boom\n- case 1\n');
    expect(withJUnit).toContain('- … and 5 more');
    expect(withJUnit).toContain('(empty)');
  });
});
