import { AgentType } from './agent-types';
import { featuresOf, requirementOf, slug, StepContext, text } from './agent-input';

export interface StepDefinition {
  key: string;
  /** The name shown in progress (the seed's names for the product agent). */
  name: string;
  /** What the model is asked to do in this step. */
  instruction: string;
  /** The JSON the step must answer with, as shown to the model. */
  shape: string;
  /** The offline template provider's answer: the same shape, built from the input. */
  template: (ctx: StepContext) => Record<string, unknown>;
}

export interface AgentFile {
  name: string;
  contentType: string;
  content: string;
}

export interface AgentOutcome {
  /** The result's `output` (the seed's fields for the product agent). */
  output: Record<string, unknown>;
  /** The document kept for the project (a PRD for the product agent). */
  document: { kind: string; title: string; content: string };
  /** Files served as the output's attachments. */
  files: AgentFile[];
}

export interface AgentDefinition {
  type: AgentType;
  title: string;
  description: string;
  steps: StepDefinition[];
  assemble: (ctx: StepContext) => AgentOutcome;
}

const list = <T>(value: unknown): T[] => (Array.isArray(value) ? (value as T[]) : []);
const bullet = (items: unknown[]): string =>
  items.map((i) => `- ${typeof i === 'string' ? i : JSON.stringify(i)}`).join('\n');
const features = (ctx: StepContext) => featuresOf(requirementOf(ctx.input));
const contextOf = (ctx: StepContext) => text(ctx.input.context, '');

/** The final document step every agent ends with: the model writes the document as Markdown. */
function documentStep(
  key: string,
  name: string,
  what: string,
  render: (ctx: StepContext) => string,
): StepDefinition {
  return {
    key,
    name,
    instruction: `Write the final ${what} as a complete Markdown document from everything above. Use headings and lists; be specific.`,
    shape: '{"document": "<markdown>"}',
    template: (ctx) => ({ document: render(ctx) }),
  };
}

function markdownFile(name: string, content: string): AgentFile {
  return { name, contentType: 'text/markdown; charset=utf-8', content };
}

/** The final document: the model's if a step wrote one, else the template's rendering. */
function documentOf(ctx: StepContext, key: string): string {
  return text((ctx.results[key] as { document?: unknown } | undefined)?.document);
}

// ---- product ------------------------------------------------------------------------------------

interface Story {
  id: string;
  title: string;
  asA: string;
  iWant: string;
  soThat: string;
}

const product: AgentDefinition = {
  type: 'product',
  title: '产品经理 Agent',
  description: 'Turns a requirement into a PRD: user stories, features, priorities and acceptance criteria.',
  steps: [
    {
      key: 'analysis',
      name: '需求解析',
      instruction: 'Analyse the requirement: its goal, the users it serves, scope and constraints.',
      shape: '{"goal": string, "users": string[], "scope": string[], "constraints": string[]}',
      template: (ctx) => ({
        goal: requirementOf(ctx.input),
        users: ['终端用户', '运营人员'],
        scope: features(ctx),
        constraints: contextOf(ctx) ? [contextOf(ctx)] : [],
      }),
    },
    {
      key: 'userStories',
      name: '用户故事生成',
      instruction: 'Write one user story per capability in scope.',
      shape:
        '{"userStories": [{"id": string, "title": string, "asA": string, "iWant": string, "soThat": string}]}',
      template: (ctx) => ({
        userStories: features(ctx).map((f, i) => ({
          id: `US-${i + 1}`,
          title: f,
          asA: '用户',
          iWant: `使用${f}`,
          soThat: `我能更方便地完成与${f}相关的操作`,
        })),
      }),
    },
    {
      key: 'features',
      name: '功能拆解',
      instruction: 'Break the stories down into features with their sub-functions.',
      shape: '{"featureList": [{"id": string, "name": string, "storyIds": string[], "functions": string[]}]}',
      template: (ctx) => ({
        featureList: features(ctx).map((f, i) => ({
          id: `F-${i + 1}`,
          name: f,
          storyIds: [`US-${i + 1}`],
          functions: [`${f}入口`, `${f}流程`, `${f}异常处理`],
        })),
      }),
    },
    {
      key: 'priorities',
      name: '优先级排序',
      instruction: 'Prioritise the features (MoSCoW) with a one-line reason each.',
      shape:
        '{"priorities": [{"featureId": string, "priority": "must"|"should"|"could"|"wont", "reason": string}]}',
      template: (ctx) => ({
        priorities: features(ctx).map((f, i) => ({
          featureId: `F-${i + 1}`,
          priority: i === 0 ? 'must' : i < 3 ? 'should' : 'could',
          reason: i === 0 ? '核心路径' : '提升体验',
        })),
      }),
    },
    {
      key: 'acceptanceCriteria',
      name: '生成验收标准',
      instruction: 'Write Given/When/Then acceptance criteria for every story.',
      shape: '{"acceptanceCriteria": [{"storyId": string, "given": string, "when": string, "then": string}]}',
      template: (ctx) => ({
        acceptanceCriteria: features(ctx).map((f, i) => ({
          storyId: `US-${i + 1}`,
          given: '用户已打开应用',
          when: `用户使用${f}`,
          then: `${f}成功完成并给出明确反馈`,
        })),
      }),
    },
    documentStep('document', '文档格式化', 'PRD', (ctx) => {
      const a = ctx.results.analysis as
        { goal?: string; scope?: string[]; constraints?: string[] } | undefined;
      const stories = list<Story>((ctx.results.userStories as { userStories?: unknown })?.userStories);
      const criteria = list<{ storyId: string; given: string; when: string; then: string }>(
        (ctx.results.acceptanceCriteria as { acceptanceCriteria?: unknown })?.acceptanceCriteria,
      );
      const title = featuresOf(requirementOf(ctx.input))[0];
      return [
        `# ${title} PRD`,
        '',
        '## 1. 产品概述',
        text(a?.goal, requirementOf(ctx.input)),
        contextOf(ctx) ? `\n背景：${contextOf(ctx)}` : '',
        '',
        '## 2. 范围',
        bullet(list(a?.scope)),
        '',
        '## 3. 用户故事',
        ...stories.map((s) => `- **${s.id} ${s.title}**：作为${s.asA}，我希望${s.iWant}，以便${s.soThat}。`),
        '',
        '## 4. 验收标准',
        ...criteria.map((c) => `- ${c.storyId}：假设${c.given}，当${c.when}，那么${c.then}。`),
        '',
        '## 5. 约束',
        bullet(list(a?.constraints)) || '- 无',
      ].join('\n');
    }),
  ],
  assemble: (ctx) => {
    const prd = documentOf(ctx, 'document');
    const stories = list<Story>((ctx.results.userStories as { userStories?: unknown })?.userStories);
    const csv = [
      'id,title,asA,iWant,soThat',
      ...stories.map((s) =>
        [s.id, s.title, s.asA, s.iWant, s.soThat].map((v) => `"${String(v).replace(/"/g, '""')}"`).join(','),
      ),
    ].join('\n');
    return {
      output: {
        prdDocument: prd,
        userStories: stories,
        acceptanceCriteria: list(
          (ctx.results.acceptanceCriteria as { acceptanceCriteria?: unknown })?.acceptanceCriteria,
        ),
        featureList: list((ctx.results.features as { featureList?: unknown })?.featureList),
        priorities: list((ctx.results.priorities as { priorities?: unknown })?.priorities),
      },
      document: { kind: 'prd', title: prd.split('\n')[0].replace(/^#\s*/, '') || 'PRD', content: prd },
      files: [
        markdownFile('prd.md', prd),
        { name: 'user-stories.csv', contentType: 'text/csv; charset=utf-8', content: csv },
      ],
    };
  },
};

// ---- the other agents share one shape: analysis steps, then a document ---------------------------

function simpleAgent(
  type: AgentType,
  title: string,
  description: string,
  steps: Array<
    [
      key: string,
      name: string,
      instruction: string,
      shape: string,
      template: (ctx: StepContext) => Record<string, unknown>,
    ]
  >,
  documentName: [key: string, name: string, what: string, kind: string, file: string],
  outputKey: string,
  extra: (ctx: StepContext) => Record<string, unknown>,
): AgentDefinition {
  const [docKey, docName, what, kind, fileName] = documentName;
  const defs: StepDefinition[] = steps.map(([key, name, instruction, shape, template]) => ({
    key,
    name,
    instruction,
    shape,
    template,
  }));
  defs.push(
    documentStep(docKey, docName, what, (ctx) =>
      [
        `# ${featuresOf(requirementOf(ctx.input))[0]} — ${what}`,
        '',
        `需求：${requirementOf(ctx.input)}`,
        ...steps.flatMap(([key, name]) => [
          '',
          `## ${name}`,
          '```json',
          JSON.stringify(ctx.results[key] ?? {}, null, 2),
          '```',
        ]),
      ].join('\n'),
    ),
  );
  return {
    type,
    title,
    description,
    steps: defs,
    assemble: (ctx) => {
      const doc = documentOf(ctx, docKey);
      return {
        output: { [outputKey]: doc, ...extra(ctx) },
        document: { kind, title: doc.split('\n')[0].replace(/^#\s*/, '') || what, content: doc },
        files: [markdownFile(fileName, doc)],
      };
    },
  };
}

const r = (ctx: StepContext, key: string, field: string): unknown[] =>
  list((ctx.results[key] as Record<string, unknown> | undefined)?.[field]);

const architecture = simpleAgent(
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

const api = simpleAgent(
  'api',
  'API 设计 Agent',
  'Designs the REST API: resources, endpoints, schemas, errors and security, as an OpenAPI description.',
  [
    [
      'resources',
      '资源识别',
      'Identify the REST resources.',
      '{"resources": [{"name": string, "path": string}]}',
      (ctx) => ({
        resources: featuresOf(requirementOf(ctx.input)).map((f) => ({ name: f, path: `/${slug(f)}` })),
      }),
    ],
    [
      'endpoints',
      '端点设计',
      'Design the endpoints of every resource.',
      '{"endpoints": [{"method": string, "path": string, "summary": string}]}',
      (ctx) => ({
        endpoints: featuresOf(requirementOf(ctx.input)).flatMap((f) => [
          { method: 'GET', path: `/${slug(f)}`, summary: `列出${f}` },
          { method: 'POST', path: `/${slug(f)}`, summary: `创建${f}` },
        ]),
      }),
    ],
    [
      'schemas',
      '数据结构定义',
      'Define the request and response schemas.',
      '{"schemas": [{"name": string, "properties": object}]}',
      (ctx) => ({
        schemas: featuresOf(requirementOf(ctx.input)).map((f) => ({
          name: slug(f),
          properties: { id: { type: 'string' } },
        })),
      }),
    ],
    [
      'errorsAndSecurity',
      '错误与安全设计',
      'Define error responses and the security scheme.',
      '{"errors": string[], "security": string}',
      () => ({ errors: ['400', '401', '403', '404', '409', '422', '429', '500'], security: 'bearer JWT' }),
    ],
  ],
  ['document', 'OpenAPI 生成', 'API specification', 'api-spec', 'api-spec.md'],
  'apiSpec',
  (ctx) => ({ endpoints: r(ctx, 'endpoints', 'endpoints'), schemas: r(ctx, 'schemas', 'schemas') }),
);

const backend = simpleAgent(
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

const frontend = simpleAgent(
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

const test = simpleAgent(
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

const devops = simpleAgent(
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

const qa = simpleAgent(
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

export const AGENTS: Record<AgentType, AgentDefinition> = {
  product,
  architecture,
  api,
  backend,
  frontend,
  test,
  devops,
  qa,
};
