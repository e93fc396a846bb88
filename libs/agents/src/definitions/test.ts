import { featuresOf, requirementOf } from '../agent-input';
import { r, simpleAgent } from './shared';

export const test = simpleAgent(
  'test',
  '测试 Agent',
  'Writes the test plan: scope, test cases, data and automation.',
  [
    [
      'scope',
      '测试范围分析',
      'Define what is tested and what is not.',
      '{"inScope": string[], "outOfScope": string[]}',
      (ctx) => ({ inScope: featuresOf(requirementOf(ctx.input)), outOfScope: [] }),
    ],
    [
      'testCases',
      '测试用例设计',
      'Design test cases (positive, negative, boundary).',
      '{"testCases": [{"id": string, "title": string, "steps": string[], "expected": string}]}',
      (ctx) => ({
        testCases: featuresOf(requirementOf(ctx.input)).flatMap((f, i) => [
          { id: `TC-${i * 2 + 1}`, title: `${f}正常流程`, steps: [`执行${f}`], expected: '成功' },
          {
            id: `TC-${i * 2 + 2}`,
            title: `${f}异常输入`,
            steps: [`以非法输入执行${f}`],
            expected: '给出明确错误',
          },
        ]),
      }),
    ],
    [
      'testData',
      '测试数据准备',
      'Describe the test data needed.',
      '{"datasets": string[]}',
      () => ({ datasets: ['有效用户', '无效凭证'] }),
    ],
    [
      'automation',
      '自动化策略',
      'Decide what is automated and how.',
      '{"levels": [{"level": string, "tool": string}]}',
      () => ({
        levels: [
          { level: 'unit', tool: 'jest' },
          { level: 'e2e', tool: 'playwright' },
        ],
      }),
    ],
  ],
  ['document', '测试计划生成', 'test plan', 'test-plan', 'test-plan.md'],
  'testPlan',
  (ctx) => ({ testCases: r(ctx, 'testCases', 'testCases') }),
);
