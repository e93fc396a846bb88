import { r, simpleAgent } from './shared';

export const devops = simpleAgent(
  'devops',
  'DevOps Agent',
  'Designs environments, the CI/CD pipeline, deployment and monitoring.',
  [
    [
      'environments',
      '环境分析',
      'List the environments and their differences.',
      '{"environments": string[]}',
      () => ({ environments: ['dev', 'test', 'staging', 'prod'] }),
    ],
    [
      'build',
      '构建流程设计',
      'Design the build and test stages.',
      '{"stages": [{"name": string, "commands": string[]}]}',
      () => ({
        stages: [
          { name: 'build', commands: ['npm ci', 'npm run build'] },
          { name: 'test', commands: ['npm test'] },
        ],
      }),
    ],
    [
      'deploy',
      '部署策略设计',
      'Choose a deployment strategy per environment.',
      '{"strategies": [{"environment": string, "strategy": string}]}',
      () => ({
        strategies: [
          { environment: 'staging', strategy: 'rolling' },
          { environment: 'prod', strategy: 'canary' },
        ],
      }),
    ],
    [
      'monitoring',
      '监控告警设计',
      'Define metrics, alerts and dashboards.',
      '{"alerts": string[]}',
      () => ({ alerts: ['5xx 比例 > 1%', 'p99 延迟 > 500ms'] }),
    ],
  ],
  ['document', '流水线配置生成', 'pipeline configuration', 'pipeline-config', 'pipeline.md'],
  'pipelineConfig',
  (ctx) => ({ stages: r(ctx, 'build', 'stages'), strategies: r(ctx, 'deploy', 'strategies') }),
);
