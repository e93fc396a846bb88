import { featuresOf, requirementOf } from '../agent-input';
import { r, simpleAgent } from './shared';

export const qa = simpleAgent(
  'qa',
  'QA Agent',
  'Assesses quality: goals, risks, release checks and defect analysis, as a QA report.',
  [
    [
      'goals',
      '质量目标',
      'State the quality goals and metrics.',
      '{"goals": string[]}',
      () => ({ goals: ['关键路径零阻塞缺陷', '自动化覆盖核心流程'] }),
    ],
    [
      'risks',
      '风险评估',
      'Assess risks with likelihood and impact.',
      '{"risks": [{"risk": string, "level": "high"|"medium"|"low"}]}',
      (ctx) => ({
        risks: featuresOf(requirementOf(ctx.input)).map((f, i) => ({
          risk: `${f}回归`,
          level: i === 0 ? 'high' : 'medium',
        })),
      }),
    ],
    [
      'checks',
      '验收检查',
      'List the release checks.',
      '{"checks": string[]}',
      (ctx) => ({ checks: featuresOf(requirementOf(ctx.input)).map((f) => `${f}验收通过`) }),
    ],
    [
      'defects',
      '缺陷分析',
      'Analyse known or likely defects and their causes.',
      '{"defects": string[]}',
      () => ({ defects: [] }),
    ],
  ],
  ['document', 'QA 报告生成', 'QA report', 'qa-report', 'qa-report.md'],
  'qaReport',
  (ctx) => ({ risks: r(ctx, 'risks', 'risks'), checks: r(ctx, 'checks', 'checks') }),
);
