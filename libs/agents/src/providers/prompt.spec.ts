import { AGENTS } from '../definitions';
import { stepPrompt } from './prompt';

describe('a step prompt', () => {
  const agent = AGENTS.architecture;
  const step = agent.steps[0];
  const ctx = {
    agentType: 'architecture',
    input: { requirement: 'checkout' },
    results: {},
    outputFormat: 'markdown' as const,
  };

  it('carries the task and the upstream documents the agent reads', () => {
    const { user } = stepPrompt({
      agent,
      step,
      model: null,
      temperature: null,
      ctx: {
        ...ctx,
        task: {
          id: 'task_1',
          key: 'SHOP-3',
          title: 'Checkout',
          description: 'Pay for the cart.',
          type: 'story',
          priority: 'high',
          labels: ['payments'],
        },
        documents: [{ id: 'doc_1', kind: 'prd', version: 2, title: 'PRD', content: 'x'.repeat(20_010) }],
      },
    });
    expect(user).toContain(
      'Task SHOP-3: Checkout\nType: story. Priority: high. Labels: payments.\nPay for the cart.',
    );
    expect(user).toContain('Upstream document (prd v2): PRD\n<document>\n');
    expect(user).toContain('… (10 more characters)\n</document>');
    expect(user.indexOf('Task SHOP-3')).toBeLessThan(user.indexOf('Input:'));
  });

  it('without context is the input and the step alone', () => {
    const { user } = stepPrompt({ agent, step, model: null, temperature: null, ctx });
    expect(user).not.toContain('Task ');
    expect(user).not.toContain('<document>');
  });

  it('each agent reads what the line before it wrote', () => {
    expect(AGENTS.product.consumes).toEqual([]);
    expect(AGENTS.architecture.consumes).toEqual(['prd']);
    expect(AGENTS.api.consumes).toEqual(['prd', 'architecture']);
    expect(AGENTS.backend.consumes).toEqual(['prd', 'architecture', 'api-spec']);
    expect(AGENTS.qa.consumes).toEqual(['test-plan']);
  });
});
