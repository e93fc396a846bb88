import { featuresOf, requirementOf, text } from '../agent-input';
import { AgentDefinition } from './agent-definition';
import { bullet, contextOf, documentOf, documentStep, features, list, markdownFile } from './shared';

interface Story {
  id: string;
  title: string;
  asA: string;
  iWant: string;
  soThat: string;
}

export const product: AgentDefinition = {
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
