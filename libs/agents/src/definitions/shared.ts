import { AgentType } from '../agent-types';
import { featuresOf, requirementOf, StepContext, text } from '../agent-input';
import { AgentDefinition, AgentFile, StepDefinition } from './agent-definition';

/** What the agents' definitions share: small renderers, the document step, the common shape. */

export const list = <T>(value: unknown): T[] => (Array.isArray(value) ? (value as T[]) : []);
export const bullet = (items: unknown[]): string =>
  items.map((i) => `- ${typeof i === 'string' ? i : JSON.stringify(i)}`).join('\n');
export const features = (ctx: StepContext) => featuresOf(requirementOf(ctx.input));
export const contextOf = (ctx: StepContext) => text(ctx.input.context, '');

/** The final document step every agent ends with: the model writes the document as Markdown. */
export function documentStep(
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

export function markdownFile(name: string, content: string): AgentFile {
  return { name, contentType: 'text/markdown; charset=utf-8', content };
}

/** The final document: the model's if a step wrote one, else the template's rendering. */
export function documentOf(ctx: StepContext, key: string): string {
  return text((ctx.results[key] as { document?: unknown } | undefined)?.document);
}

export function simpleAgent(
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

export const r = (ctx: StepContext, key: string, field: string): unknown[] =>
  list((ctx.results[key] as Record<string, unknown> | undefined)?.[field]);
