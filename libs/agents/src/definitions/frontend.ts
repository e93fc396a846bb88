import { featuresOf, requirementOf, slug } from '../agent-input';
import { r, simpleAgent } from './shared';

export const frontend = simpleAgent(
  'frontend',
  '前端开发 Agent',
  'Plans the front end: pages, components, state and interactions.',
  [
    [
      'pages',
      '页面梳理',
      'List the pages and routes.',
      '{"pages": [{"route": string, "title": string}]}',
      (ctx) => ({
        pages: featuresOf(requirementOf(ctx.input)).map((f) => ({ route: `/${slug(f)}`, title: f })),
      }),
    ],
    [
      'components',
      '组件拆分',
      'Split pages into components.',
      '{"components": [{"name": string, "page": string}]}',
      (ctx) => ({
        components: featuresOf(requirementOf(ctx.input)).map((f) => ({
          name: `${slug(f)}-form`,
          page: `/${slug(f)}`,
        })),
      }),
    ],
    [
      'stateManagement',
      '状态与数据流',
      'Describe state and data fetching.',
      '{"stores": string[], "apiCalls": string[]}',
      (ctx) => ({
        stores: ['session'],
        apiCalls: featuresOf(requirementOf(ctx.input)).map((f) => `GET /${slug(f)}`),
      }),
    ],
    [
      'interactions',
      '交互设计',
      'Describe the key interactions and validation.',
      '{"interactions": string[]}',
      (ctx) => ({
        interactions: featuresOf(requirementOf(ctx.input)).map((f) => `${f}：提交前校验并提示错误`),
      }),
    ],
  ],
  ['document', '代码计划生成', 'front-end code plan', 'code-plan', 'frontend-plan.md'],
  'codePlan',
  (ctx) => ({ pages: r(ctx, 'pages', 'pages'), components: r(ctx, 'components', 'components') }),
);
