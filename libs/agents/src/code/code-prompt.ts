import { clip, TaskContext } from '../agent-input';

/** The agents that write code on the project's repository. */
export const CODE_AGENTS = ['backend', 'frontend', 'test', 'devops'] as const;
export type CodeAgentType = (typeof CODE_AGENTS)[number];
export const isCodeAgent = (type: string): type is CodeAgentType =>
  (CODE_AGENTS as readonly string[]).includes(type);

/** What each code agent is asked to be. */
export const CODE_ROLES: Record<CodeAgentType, string> = {
  backend:
    'You are the backend developer. Implement the server-side part of the task: modules, data access, interfaces, with unit tests beside the code.',
  frontend:
    'You are the front-end developer. Implement the user interface part of the task, with component tests where the project has them.',
  test: 'You are the test engineer. Add or extend automated tests that prove the acceptance criteria, and fix the tests (not the product code) when they are wrong.',
  devops:
    'You are the DevOps engineer. Change the build, CI, deployment and infrastructure files the task needs; keep the pipeline green.',
};

/** The upstream documents a code agent reads, by kind, in this order. */
export const CODE_DOCUMENT_KINDS = ['prd', 'architecture', 'api-spec'] as const;
const DOCUMENT_TITLES: Record<string, string> = {
  prd: 'Product requirements (PRD)',
  architecture: 'Architecture',
  'api-spec': 'API specification',
};
const DOCUMENT_MAX = 20_000;
const CHANGE_DIFF_MAX = 40_000;

/** The task as a code session is told it. */
export type CodeTask = Omit<TaskContext, 'id'>;

export interface PromptInput {
  agentType: CodeAgentType;
  task: CodeTask;
  /** The activation's input (requirement, acceptance criteria, anything the requester added). */
  input: Record<string, unknown>;
  documents: Array<{ kind: string; title: string; content: string }>;
  branch: string;
  /** The change this session adds to (the test agent: the task's open change; a flow's), with its diff. */
  change?: { id: string; diff: string } | null;
}

/** The acceptance criteria in the input, as lines (a list or a text). */
export function acceptanceCriteriaOf(input: Record<string, unknown>): string[] {
  const raw = input.acceptanceCriteria ?? input.acceptance_criteria;
  if (Array.isArray(raw)) return raw.map((c) => String(c).trim()).filter(Boolean);
  if (typeof raw === 'string')
    return raw
      .split('\n')
      .map((l) => l.replace(/^\s*[-*\d.)]+\s*/, '').trim())
      .filter(Boolean);
  return [];
}

/** The first session's prompt: the task, the role, the documents, and how the work is judged. */
export function codePrompt(p: PromptInput): string {
  const t = p.task;
  const criteria = acceptanceCriteriaOf(p.input);
  const extra = Object.entries(p.input).filter(
    ([k]) => !['acceptanceCriteria', 'acceptance_criteria'].includes(k),
  );
  const lines = [
    CODE_ROLES[p.agentType],
    '',
    `# Task ${t.key}: ${t.title}`,
    `Type: ${t.type}. Priority: ${t.priority}.${t.labels.length ? ` Labels: ${t.labels.join(', ')}.` : ''}`,
    '',
    t.description?.trim() || '(no description)',
  ];
  if (criteria.length) lines.push('', '## Acceptance criteria', ...criteria.map((c) => `- ${c}`));
  if (extra.length)
    lines.push(
      '',
      '## From the requester',
      ...extra.map(([k, v]) => `- ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`),
    );
  for (const kind of CODE_DOCUMENT_KINDS) {
    const d = p.documents.find((x) => x.kind === kind);
    if (d) lines.push('', `## ${DOCUMENT_TITLES[kind]}: ${d.title}`, '', clip(d.content, DOCUMENT_MAX));
  }
  if (p.change)
    lines.push(
      '',
      p.agentType === 'test'
        ? `## The change under test (${p.change.id}, on this branch)`
        : `## The change you add to (${p.change.id}, on this branch, by the agents before you)`,
      '',
      '```diff',
      clip(p.change.diff, CHANGE_DIFF_MAX),
      '```',
    );
  lines.push(
    '',
    '## How you work',
    `- The repository is checked out in the current directory, on the branch ${p.branch}. Change the files here; do not commit or push: the platform commits your work and opens a change for review.`,
    "- The project's pipeline builds and tests the branch after you finish; the work is accepted only when it is green. Run the tests yourself before you finish.",
    '- There is no network except the model. Use what the repository and the tools installed here offer.',
    '- Finish with a short summary of what you changed.',
  );
  return lines.join('\n');
}

/** A repair session's prompt: what failed in the build of the previous attempt. */
export function repairPrompt(p: {
  round: number;
  rounds: number;
  stage: string | null;
  reason: string | null;
  logTail: string;
  /** Failed test cases from the build's JUnit reports. */
  failures?: Array<{ name: string; message: string | null }>;
}): string {
  const failures = p.failures ?? [];
  const shown = failures
    .slice(0, 20)
    .map((f) => `- ${f.name}${f.message ? `: ${clip(f.message, 300)}` : ''}`);
  return [
    `The pipeline's build of your change failed (repair round ${p.round} of ${p.rounds}).`,
    p.stage ? `Failing stage: ${p.stage}.${p.reason ? ` ${p.reason}` : ''}` : (p.reason ?? ''),
    '',
    'The end of its log:',
    '```',
    p.logTail.trim() || '(empty)',
    '```',
    ...(failures.length
      ? [
          '',
          `Failed tests (JUnit, ${failures.length}):`,
          ...shown,
          ...(failures.length > shown.length ? [`- … and ${failures.length - shown.length} more`] : []),
        ]
      : []),
    '',
    'Fix the code so the build passes. The files are as you left them, on the same branch. Do not commit; finish with a short summary.',
  ].join('\n');
}
