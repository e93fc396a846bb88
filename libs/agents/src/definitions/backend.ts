import { featuresOf, requirementOf, slug } from '../agent-input';
import { r, simpleAgent } from './shared';

export const backend = simpleAgent(
  'backend',
  '后端开发 Agent',
  'Plans the backend code: modules, interfaces, data access and the implementation steps.',
  [
    [
      'context',
      '需求理解',
      'Summarise what the backend must do.',
      '{"summary": string}',
      (ctx) => ({ summary: requirementOf(ctx.input) }),
    ],
    [
      'modules',
      '模块划分',
      'Split the work into modules with their files.',
      '{"modules": [{"name": string, "files": string[]}]}',
      (ctx) => ({
        modules: featuresOf(requirementOf(ctx.input)).map((f) => ({
          name: slug(f),
          files: [`${slug(f)}.controller.ts`, `${slug(f)}.service.ts`, `${slug(f)}.entity.ts`],
        })),
      }),
    ],
    [
      'implementationPlan',
      '接口实现计划',
      'Order the implementation tasks with estimates.',
      '{"tasks": [{"title": string, "estimateHours": number}]}',
      (ctx) => ({
        tasks: featuresOf(requirementOf(ctx.input)).map((f) => ({ title: `实现${f}`, estimateHours: 8 })),
      }),
    ],
    [
      'dataAccess',
      '数据访问设计',
      'Design repositories, transactions and indexes.',
      '{"repositories": string[], "indexes": string[]}',
      (ctx) => ({
        repositories: featuresOf(requirementOf(ctx.input)).map((f) => `${slug(f)}Repository`),
        indexes: ['created_at'],
      }),
    ],
  ],
  ['document', '代码计划生成', 'backend code plan', 'code-plan', 'backend-plan.md'],
  'codePlan',
  (ctx) => ({ modules: r(ctx, 'modules', 'modules'), tasks: r(ctx, 'implementationPlan', 'tasks') }),
);
