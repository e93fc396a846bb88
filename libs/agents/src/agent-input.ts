/** The task an activation works on, as it was when the agent was activated. */
export interface TaskContext {
  id: string;
  key: string;
  title: string;
  description: string | null;
  type: string;
  priority: string;
  labels: string[];
}

/** The task's fields an agent sees. */
export function taskContextOf(t: TaskContext): TaskContext {
  return {
    id: t.id,
    key: t.key,
    title: t.title,
    description: t.description,
    type: t.type,
    priority: t.priority,
    labels: t.labels,
  };
}

/** An upstream document an activation reads (its content is read when a step needs it). */
export interface DocumentRef {
  id: string;
  kind: string;
  version: number;
  title: string;
}

/** The open change an agent adds to (the test agent: the task's newest open change). */
export interface ChangeRef {
  id: string;
  branch: string;
  baseBranch: string;
  baseSha: string;
  headSha: string;
}

/** What an activation sees besides its input, fixed when it is accepted. */
export interface ActivationContext {
  task?: TaskContext;
  documents?: DocumentRef[];
  change?: ChangeRef;
}

/** What a step sees: the activation's input and context, and what earlier steps produced. */
export interface StepContext {
  agentType: string;
  input: Record<string, unknown>;
  results: Record<string, unknown>;
  outputFormat: 'markdown' | 'json';
  task?: TaskContext;
  /** The upstream documents, with their content. */
  documents?: Array<DocumentRef & { content: string }>;
}

/** `text` cut to `max` characters, saying how much was cut. */
export const clip = (text: string, max: number): string =>
  text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;

export function text(value: unknown, fallback = ''): string {
  if (typeof value === 'string') return value.trim();
  if (value === undefined || value === null) return fallback;
  return JSON.stringify(value);
}

/** The requirement in the input under its usual names. */
export function requirementOf(input: Record<string, unknown>): string {
  return text(
    input.requirement ?? input.description ?? input.prompt ?? input.goal ?? input.summary,
    '未提供需求描述',
  );
}

/**
 * The features named in a requirement: "实现用户中心模块,支持手机号登录、邮箱登录、第三方登录" gives
 * 用户中心模块, 手机号登录, 邮箱登录, 第三方登录. Deterministic, for the offline template provider.
 */
export function featuresOf(requirement: string): string[] {
  const parts = requirement
    .split(/[，,。.;；、\n]|\band\b|以及|和|及/)
    .map((p) => p.replace(/^(实现|支持|提供|包括|包含|需要|增加|新增|完成|开发)/, '').trim())
    .filter((p) => p.length >= 2);
  const unique = [...new Set(parts)];
  return unique.length ? unique.slice(0, 12) : [requirement.slice(0, 40)];
}

export function slug(value: string): string {
  const ascii = value
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
  return ascii || `item-${[...value].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7).toString(36)}`;
}
