import { clip } from '../agent-input';
import { StepRequest } from './llm-provider';

/** The most of one upstream document a prompt carries. */
const DOCUMENT_MAX = 20_000;

/** The system prompt and user message of one step. */
export function stepPrompt({ agent, step, ctx }: StepRequest): { system: string; user: string } {
  const system = [
    `You are the ${agent.title} of OpenClaw CoCode, an R&D automation platform. ${agent.description}`,
    'Work on exactly one step at a time. Answer with a single JSON object and nothing else (no prose, no code fences).',
    `The JSON must have this shape: ${step.shape}`,
    'Write in the language of the requirement.',
  ].join('\n');
  const t = ctx.task;
  const user = [
    t
      ? [
          `Task ${t.key}: ${t.title}`,
          `Type: ${t.type}. Priority: ${t.priority}.${t.labels.length ? ` Labels: ${t.labels.join(', ')}.` : ''}`,
          t.description?.trim() ?? '',
        ]
          .filter(Boolean)
          .join('\n')
      : '',
    `Input:\n${JSON.stringify(ctx.input, null, 2)}`,
    ...(ctx.documents ?? []).map(
      (d) =>
        `Upstream document (${d.kind} v${d.version}): ${d.title}\n<document>\n${clip(d.content, DOCUMENT_MAX)}\n</document>`,
    ),
    Object.keys(ctx.results).length
      ? `Results of the earlier steps:\n${JSON.stringify(ctx.results, null, 2)}`
      : '',
    `Step "${step.name}": ${step.instruction}`,
    ctx.outputFormat === 'json' ? 'Documents: structured, concise.' : 'Documents: Markdown.',
  ]
    .filter(Boolean)
    .join('\n\n');
  return { system, user };
}

/** The JSON object in a model's answer (tolerating code fences or text around it). */
export function parseJsonAnswer(text: string): Record<string, unknown> | null {
  const trimmed = text
    .trim()
    .replace(/^```(?:json)?\s*/i, '')
    .replace(/\s*```$/, '');
  const candidates = [trimmed];
  const start = trimmed.indexOf('{');
  const end = trimmed.lastIndexOf('}');
  if (start >= 0 && end > start) candidates.push(trimmed.slice(start, end + 1));
  for (const c of candidates) {
    try {
      const value: unknown = JSON.parse(c);
      if (value && typeof value === 'object' && !Array.isArray(value))
        return value as Record<string, unknown>;
    } catch {
      /* try the next candidate */
    }
  }
  return null;
}
