import { AGENTS } from './definitions';
import { featuresOf, requirementOf, StepContext } from './agent-input';
import { AGENT_TYPES } from './agent-types';
import { AnthropicProvider } from './providers/anthropic.provider';
import { parseJsonAnswer } from './providers/prompt';
import { TemplateProvider } from './providers/template.provider';

describe('agent definitions', () => {
  it('gives the product agent the seed’s six steps in order', () => {
    expect(AGENTS.product.steps.map((s) => s.name)).toEqual([
      '需求解析',
      '用户故事生成',
      '功能拆解',
      '优先级排序',
      '生成验收标准',
      '文档格式化',
    ]);
  });

  it('defines all eight agents, each ending with a document step', () => {
    expect(Object.keys(AGENTS)).toEqual([...AGENT_TYPES]);
    for (const type of AGENT_TYPES) {
      const steps = AGENTS[type].steps;
      expect(steps.length).toBeGreaterThanOrEqual(5);
      expect(steps.at(-1)!.shape).toBe('{"document": "<markdown>"}');
      expect(new Set(steps.map((s) => s.key)).size).toBe(steps.length);
    }
  });

  it('reads the features out of a Chinese requirement', () => {
    expect(featuresOf('实现用户中心模块,支持手机号登录、邮箱登录、第三方登录')).toEqual([
      '用户中心模块',
      '手机号登录',
      '邮箱登录',
      '第三方登录',
    ]);
    expect(requirementOf({ description: 'x' })).toBe('x');
    expect(requirementOf({})).toBe('未提供需求描述');
  });

  it.each(AGENT_TYPES)(
    'the template provider runs the %s agent deterministically into a complete output',
    async (type) => {
      const provider = new TemplateProvider();
      const run = async () => {
        const ctx: StepContext = {
          agentType: type,
          input: { requirement: '支持订单导出、发票下载' },
          results: {},
          outputFormat: 'markdown',
        };
        for (const step of AGENTS[type].steps) {
          const r = await provider.runStep({
            agent: AGENTS[type],
            step,
            ctx,
            model: null,
            temperature: null,
          });
          expect(r).toEqual(expect.objectContaining({ tokensUsed: 0, model: 'template' }));
          ctx.results[step.key] = r.output;
        }
        return AGENTS[type].assemble(ctx);
      };
      const first = await run();
      expect(await run()).toEqual(first);
      expect(first.document.content).toMatch(/^# /);
      expect(first.files.length).toBeGreaterThan(0);
    },
  );
});

describe('model answers', () => {
  it('takes the JSON object out of an answer, with or without fences and prose', () => {
    expect(parseJsonAnswer('{"a":1}')).toEqual({ a: 1 });
    expect(parseJsonAnswer('```json\n{"a":1}\n```')).toEqual({ a: 1 });
    expect(parseJsonAnswer('Here you go: {"a": {"b": 2}} hope it helps')).toEqual({ a: { b: 2 } });
    expect(parseJsonAnswer('[1,2]')).toBeNull();
    expect(parseJsonAnswer('no json')).toBeNull();
  });

  it('maps model aliases to ids and keeps unknown names as they are', () => {
    const p = new AnthropicProvider({
      apiKey: 'k',
      defaultModel: 'claude-sonnet-4.5',
      aliases: { 'claude-sonnet-4': 'claude-sonnet-4-20250514', 'claude-sonnet-4.5': 'claude-sonnet-4-5' },
      maxTokens: 1000,
      timeoutMs: 1000,
      maxRetries: 0,
    });
    expect(p.resolveModel('claude-sonnet-4')).toBe('claude-sonnet-4-20250514');
    expect(p.resolveModel(null)).toBe('claude-sonnet-4-5');
    expect(p.resolveModel('claude-opus-9')).toBe('claude-opus-9');
  });
});
