import { isExecutable, ModelRelays, Sandbox, SandboxProcess, Workspace } from '@app/runner';
import { dirname } from 'node:path';
import { ProviderError } from '../providers/llm-provider';
import { BUDGET_SUBTYPES, notesOf, resultOf, SessionNote, SessionResult } from './session-messages';

/** The tools a code session may use. */
export const CODE_TOOLS = ['Read', 'Write', 'Edit', 'Glob', 'Grep', 'Bash'] as const;

/** The pinned SDK (package.json), loaded on first use: it is an ES module, this code CommonJS. */
const SDK = '@anthropic-ai/claude-agent-sdk';
// tsc would turn import() into require(), which cannot load an ES module.
const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<unknown>;

type QueryFn = (params: { prompt: string; options: Record<string, unknown> }) => AsyncIterable<unknown>;
let sdk: Promise<{ query: QueryFn }> | null = null;

/** Where the CLI is: CLAUDE_CODE_EXECUTABLE, else the SDK's binary package for this platform. */
export async function findClaudeCode(configured: string | undefined): Promise<string | null> {
  const candidates = configured
    ? [configured]
    : [`${process.platform}-${process.arch}`, `${process.platform}-${process.arch}-musl`].flatMap((p) => {
        try {
          return [require.resolve(`${SDK}-${p}/claude`)];
        } catch {
          return [];
        }
      });
  for (const file of candidates) if (await isExecutable(file)) return file;
  return null;
}

export interface CodeSessionRequest {
  sandbox: Sandbox;
  relays: ModelRelays;
  workspace: Workspace;
  executable: string;
  prompt: string;
  model: string;
  maxTurns: number;
  maxBudgetUsd: number | null;
  timeoutMs: number;
  signal: AbortSignal;
  jobId: string;
  onNote: (note: SessionNote) => void;
}

export interface CodeSessionOutcome {
  status: 'success' | 'budget_exceeded' | 'timed_out' | 'cancelled' | 'failed';
  reason: string | null;
  result: SessionResult | null;
  /** Every message of the session, one JSON object a line. */
  transcript: string;
}

const TRANSCRIPT_MAX = 8 * 2 ** 20;
/** Variables of the SDK's own the CLI is given (its entry point, version); never a key or the worker's. */
const SDK_VARIABLES = /^(CLAUDE_|BUN_)/;

/**
 * One Claude Code session in the sandbox: the SDK's query() drives the CLI, which it starts
 * through spawnClaudeCodeProcess as a SandboxProcess (no network, the workspace as its only
 * writable place, the CLI bound read-only, the model reached through the session's relay, which
 * alone holds the key). Cancel or the timeout kills the whole sandbox.
 */
export async function runCodeSession(r: CodeSessionRequest): Promise<CodeSessionOutcome> {
  sdk ??= importEsm(SDK).then(
    (m) => m as { query: QueryFn },
    (err: Error) => {
      sdk = null;
      throw new ProviderError(`The Claude Code SDK could not be loaded: ${err.message}`);
    },
  );
  const { query } = await sdk;
  const relay = await r.relays.start(r.jobId);
  const abort = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abort.abort();
  }, r.timeoutMs);
  const onCancel = () => abort.abort();
  if (r.signal.aborted) abort.abort();
  r.signal.addEventListener('abort', onCancel, { once: true });
  let stderr = '';
  let transcript = '';
  let result: SessionResult | null = null;
  let child: SandboxProcess | null = null;
  const isRoot = process.getuid?.() === 0;
  try {
    const messages = query({
      prompt: r.prompt,
      options: {
        cwd: r.workspace.src,
        model: r.model,
        pathToClaudeCodeExecutable: r.executable,
        allowedTools: [...CODE_TOOLS],
        tools: [...CODE_TOOLS],
        // The CLI refuses to bypass permissions as root: only an unprivileged sandbox may.
        permissionMode: r.sandbox.executor === 'bwrap' || !isRoot ? 'bypassPermissions' : 'acceptEdits',
        allowDangerouslySkipPermissions: true,
        maxTurns: r.maxTurns,
        ...(r.maxBudgetUsd !== null ? { maxBudgetUsd: r.maxBudgetUsd } : {}),
        settingSources: [],
        env: {},
        abortController: abort,
        stderr: (text: string) => (stderr = (stderr + text).slice(-4000)),
        spawnClaudeCodeProcess: (o: {
          command: string;
          args: string[];
          env: Record<string, string | undefined>;
        }) => {
          const env: Record<string, string> = {
            DISABLE_TELEMETRY: '1',
            DISABLE_ERROR_REPORTING: '1',
            DISABLE_AUTOUPDATER: '1',
            CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
          };
          for (const [k, v] of Object.entries(o.env))
            if (v !== undefined && SDK_VARIABLES.test(k)) env[k] = v;
          child = new SandboxProcess(r.sandbox, {
            argv: [o.command, ...o.args],
            workspace: r.workspace.dir,
            cwd: 'src',
            env,
            network: 'none',
            readOnlyPaths: [dirname(r.executable)],
            timeoutMs: r.timeoutMs + 60_000,
            signal: abort.signal,
            onOutput: (text) => (stderr = (stderr + text).slice(-4000)),
            jobId: r.jobId,
            modelRelay: { socketPath: relay.socketPath },
          });
          return child;
        },
      },
    });
    for await (const message of messages) {
      if (transcript.length < TRANSCRIPT_MAX) transcript += `${JSON.stringify(message)}\n`;
      for (const note of notesOf(message)) r.onNote(note);
      result = resultOf(message) ?? result;
    }
  } catch (err) {
    if (!abort.signal.aborted && !result)
      return {
        status: 'failed',
        reason: `Claude Code failed: ${(err as Error).message}${stderr.trim() ? ` (${stderr.trim().slice(-500)})` : ''}`,
        result,
        transcript,
      };
  } finally {
    clearTimeout(timer);
    r.signal.removeEventListener('abort', onCancel);
    const proc = child as SandboxProcess | null;
    proc?.kill();
    await proc?.done.catch(() => undefined);
    await relay.stop();
  }
  if (r.signal.aborted) return { status: 'cancelled', reason: 'cancelled', result, transcript };
  if (timedOut)
    return {
      status: 'timed_out',
      reason: `The session ran out of its ${Math.round(r.timeoutMs / 1000)} s (config.budget.timeoutSeconds)`,
      result,
      transcript,
    };
  if (!result)
    return {
      status: 'failed',
      reason: `Claude Code ended without a result${stderr.trim() ? `: ${stderr.trim().slice(-500)}` : ''}`,
      result,
      transcript,
    };
  if (BUDGET_SUBTYPES.includes(result.subtype))
    return {
      status: 'budget_exceeded',
      reason:
        result.subtype === 'error_max_turns'
          ? `The session used its ${r.maxTurns} turns (config.budget.maxTurns) before it finished`
          : `The session reached its budget of $${r.maxBudgetUsd ?? '?'} (config.budget.maxUsd)`,
      result,
      transcript,
    };
  if (result.isError)
    return {
      status: 'failed',
      reason: `Claude Code ended with ${result.subtype}${result.text ? `: ${result.text.slice(0, 500)}` : ''}`,
      result,
      transcript,
    };
  return { status: 'success', reason: null, result, transcript };
}
