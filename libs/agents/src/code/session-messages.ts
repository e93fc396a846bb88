import { clip } from '../agent-input';
import { TokenUsage } from '../usage/model-prices';

/** What the activation's events show of one streamed message of a Claude Code session. */
export interface SessionNote {
  level: 'info' | 'warn' | 'error';
  message: string;
  /** `assistant` text, a `tool` call, a `tool_result`, or the session's `system`/`result` lines. */
  kind: 'assistant' | 'tool' | 'tool_result' | 'system' | 'result';
  tool?: string;
}

/** The SDK's final message of a session (type "result"), as far as the activation uses it. */
export interface SessionResult {
  subtype: string;
  isError: boolean;
  costUsd: number;
  numTurns: number;
  usage: TokenUsage;
  /** The model that answered most (the SDK's modelUsage keys), or null. */
  model: string | null;
  /** The result text (success) or the SDK's errors. */
  text: string;
}

const TEXT_MAX = 2000;
const RESULT_MAX = 500;

type Block = {
  type?: string;
  text?: unknown;
  name?: unknown;
  input?: unknown;
  content?: unknown;
  is_error?: unknown;
};
type Message = {
  type?: string;
  subtype?: string;
  model?: string;
  message?: { content?: unknown };
  [key: string]: unknown;
};

/** One line on what a tool call does: its file, command or pattern. */
export function toolSummary(name: string, input: unknown): string {
  const i = (input && typeof input === 'object' ? input : {}) as Record<string, unknown>;
  const pick = (...keys: string[]) =>
    keys.map((k) => i[k]).find((v) => typeof v === 'string') as string | undefined;
  const what = pick('file_path', 'command', 'pattern', 'path', 'url', 'description') ?? '';
  return clip(`${name}${what ? ` ${what.replace(/\s+/g, ' ').trim()}` : ''}`, 300);
}

function blocks(content: unknown): Block[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return Array.isArray(content) ? (content.filter((b) => b && typeof b === 'object') as Block[]) : [];
}

function resultText(content: unknown): string {
  if (typeof content === 'string') return content;
  return blocks(content)
    .map((b) => (typeof b.text === 'string' ? b.text : ''))
    .join('\n');
}

/** The notes one SDK message gives (none for those the activation does not show). */
export function notesOf(raw: unknown): SessionNote[] {
  const m = (raw && typeof raw === 'object' ? raw : {}) as Message;
  if (m.type === 'system' && m.subtype === 'init')
    return [{ level: 'info', kind: 'system', message: `Claude Code 会话开始（模型 ${m.model ?? '?'}）` }];
  if (m.type === 'assistant') {
    const out: SessionNote[] = [];
    for (const b of blocks(m.message?.content)) {
      if (b.type === 'text' && typeof b.text === 'string' && b.text.trim())
        out.push({ level: 'info', kind: 'assistant', message: clip(b.text.trim(), TEXT_MAX) });
      if (b.type === 'tool_use' && typeof b.name === 'string')
        out.push({ level: 'info', kind: 'tool', tool: b.name, message: toolSummary(b.name, b.input) });
    }
    return out;
  }
  if (m.type === 'user') {
    return blocks(m.message?.content)
      .filter((b) => b.type === 'tool_result')
      .map((b) => ({
        level: b.is_error === true ? ('warn' as const) : ('info' as const),
        kind: 'tool_result' as const,
        message: clip(resultText(b.content).trim() || '(no output)', RESULT_MAX),
      }));
  }
  if (m.type === 'result') {
    const r = resultOf(m);
    return r
      ? [
          {
            level: r.isError ? 'warn' : 'info',
            kind: 'result',
            message: `会话结束：${r.subtype}，${r.numTurns} 轮，$${r.costUsd.toFixed(4)}`,
          },
        ]
      : [];
  }
  return [];
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);

/** The session's result message, or null for any other message. */
export function resultOf(raw: unknown): SessionResult | null {
  const m = (raw && typeof raw === 'object' ? raw : {}) as Message;
  if (m.type !== 'result') return null;
  const usage = (m.usage && typeof m.usage === 'object' ? m.usage : {}) as Record<string, unknown>;
  const byModel = (m.modelUsage && typeof m.modelUsage === 'object' ? m.modelUsage : {}) as Record<
    string,
    { costUSD?: unknown; outputTokens?: unknown }
  >;
  const model =
    Object.entries(byModel).sort((a, b) => num(b[1]?.outputTokens) - num(a[1]?.outputTokens))[0]?.[0] ?? null;
  const errors = Array.isArray(m.errors) ? m.errors.filter((e) => typeof e === 'string').join('; ') : '';
  return {
    subtype: typeof m.subtype === 'string' ? m.subtype : 'unknown',
    isError: m.is_error === true || (typeof m.subtype === 'string' && m.subtype !== 'success'),
    costUsd: num(m.total_cost_usd),
    numTurns: Math.floor(num(m.num_turns)),
    usage: {
      inputTokens: Math.floor(num(usage.input_tokens)),
      outputTokens: Math.floor(num(usage.output_tokens)),
      cacheReadTokens: Math.floor(num(usage.cache_read_input_tokens)),
    },
    model,
    text: typeof m.result === 'string' ? m.result : errors,
  };
}

/** Budget results of the SDK: the session stopped at maxTurns or maxBudgetUsd. */
export const BUDGET_SUBTYPES: readonly string[] = ['error_max_turns', 'error_max_budget_usd'];
