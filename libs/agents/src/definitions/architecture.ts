import { featuresOf, requirementOf, slug } from '../agent-input';
import { r, simpleAgent } from './shared';

export const architecture = simpleAgent(
  'architecture',
  '架构师 Agent',
  'Designs the architecture: style, components, data model and non-functional choices.',
  [
    [
      'context',
      '需求理解',
      'Summarise what must be built and the quality attributes that matter.',
      '{"summary": string, "qualityAttributes": string[]}',
      (ctx) => ({ summary: requirementOf(ctx.input), qualityAttributes: ['可用性', '安全性', '可扩展性'] }),
    ],
    [
      'style',
      '架构选型',
      'Choose the architecture style and the main technologies, with reasons.',
      '{"style": string, "technologies": [{"name": string, "reason": string}]}',
      () => ({
        style: '模块化单体 + 异步任务',
        technologies: [
          { name: 'PostgreSQL', reason: '事务与一致性' },
          { name: 'Redis', reason: '队列与缓存' },
        ],
      }),
    ],
    [
      'components',
      '组件设计',
      'List the components and their responsibilities and dependencies.',
      '{"components": [{"name": string, "responsibility": string, "dependsOn": string[]}]}',
      (ctx) => ({
        components: featuresOf(requirementOf(ctx.input)).map((f) => ({
          name: `${slug(f)}-service`,
          responsibility: f,
          dependsOn: ['database'],
        })),
      }),
    ],
    [
      'dataModel',
      '数据模型设计',
      'Design the main entities with their fields and relations.',
      '{"entities": [{"name": string, "fields": string[]}]}',
      (ctx) => ({
        entities: featuresOf(requirementOf(ctx.input)).map((f) => ({
          name: slug(f),
          fields: ['id', 'createdAt', 'updatedAt'],
        })),
      }),
    ],
    [
      'nonFunctional',
      '非功能设计',
      'Describe security, performance, availability and observability measures.',
      '{"measures": [{"area": string, "measure": string}]}',
      () => ({
        measures: [
          { area: 'security', measure: 'JWT + RBAC' },
          { area: 'availability', measure: '无状态服务多副本' },
        ],
      }),
    ],
  ],
  ['document', '架构文档生成', 'architecture document', 'architecture', 'architecture.md'],
  'architectureDocument',
  (ctx) => ({ components: r(ctx, 'components', 'components'), dataModel: r(ctx, 'dataModel', 'entities') }),
);
