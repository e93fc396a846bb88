import { Injectable, Logger } from '@nestjs/common';
import {
  AppConfig,
  AppError,
  MODEL_KEY_VARIABLE,
  OutboxService,
  parseJUnit,
  Principal,
  Semaphore,
  UnitOfWork,
} from '@app/core';
import { ChangesService } from '@app/changes';
import { BuildDto, BuildLogService, BuildsService, lostItsWorker } from '@app/pipelines';
import { ProjectsService } from '@app/projects';
import { GitScriptOptions, LeasedJob, ModelRelays, Sandbox, Workspace } from '@app/runner';
import { TasksService } from '@app/tasks';
import { UsersService } from '@app/users';
import { ActivationsRepository } from '../activations.repository';
import { AgentActivationEntity, StepState } from '../agent-activation.entity';
import { AgentEvents } from '../agent-events.service';
import { EndStatus } from '../agent-types';
import { AGENTS, AgentFile } from '../definitions';
import { ProjectDocumentsRepository } from '../project-documents.repository';
import { ProviderError } from '../providers/llm-provider';
import { addUsage, TokenUsage } from '../usage/model-prices';
import { findClaudeCode, runCodeSession } from './claude-code';
import { commitAll, prepareBranch, pushBranch } from './code-git';
import { CodeAgentType, CodeTask, codePrompt, isCodeAgent, repairPrompt } from './code-prompt';
import { repairStep } from './code-steps';
import { actingFor, onBehalfOf } from '../acting-principal';
import { clip, taskContextOf } from '../agent-input';
import { SessionNote } from './session-messages';

/** What a code activation keeps between its steps (intermediate_results.code): enough to resume. */
export interface CodeState {
  branch?: string;
  baseSha?: string;
  /** The head pushed to the branch (the change's head). */
  headSha?: string;
  changeId?: string;
  buildId?: string;
  buildStatus?: string;
  /** Builds of this head started again because their worker stopped under them. */
  rebuilds?: number;
  /** Repair rounds begun. */
  round?: number;
  summary?: string;
}

/** The worker is shutting down: the activation goes back to the queue, to resume elsewhere. */
class HandBack extends Error {}

/** The activation ends here with this status (not an error of the platform). */
export class CodeEnd extends Error {
  constructor(
    readonly status: EndStatus,
    message: string,
  ) {
    super(message);
  }
}

const BUILD_POLL_MS = 1000;
/** How many times one head is built again after its build lost its worker. */
const MAX_REBUILDS = 2;
const LOG_TAIL_BYTES = 6000;
const JUNIT_MAX_BYTES = 5 * 2 ** 20;
const TRANSCRIPT_MAX = 2 * 2 ** 20;

interface Run {
  a: AgentActivationEntity;
  job: LeasedJob;
  /** The worker is shutting down (SIGTERM): hand the activation back at the next chance. */
  stopping: () => boolean;
  type: CodeAgentType;
  actor: Principal;
  /** The builds' principal (builder()). */
  builds: Principal;
  task: CodeTask;
  repo: {
    url: string;
    defaultBranch: string;
    pipelineId: string | null;
    credentials: GitScriptOptions['credentials'];
  };
  state: CodeState;
  steps: StepState[];
  workspace: Workspace | null;
  prepared: boolean;
  usage: TokenUsage;
  cost: number;
  turns: number;
  model: string | null;
  transcript: string;
  plan: string | null;
  documents: Array<{ kind: string; title: string; content: string }>;
  /** The diff of the change this activation adds to, if any. */
  changeDiff: string | null;
}

/**
 * A code activation: a sandboxed clone on a new branch, a session that changes the code (Claude
 * Code through the relay, or the offline template writing its plan), a commit by the agent pushed
 * to the branch and opened as a change, the project's pipeline on it, and repair sessions given
 * the failed build, until the build is green or the rounds are spent. Each step's outcome is kept
 * in intermediate_results.code, so a run cut short resumes at the step it was in.
 */
@Injectable()
export class CodeWork {
  private readonly logger = new Logger(CodeWork.name);
  /** Claude Code sessions of this worker at once (AGENTS_CODE_SESSIONS). */
  private readonly sessions: Semaphore;

  constructor(
    private readonly activations: ActivationsRepository,
    private readonly documents: ProjectDocumentsRepository,
    private readonly events: AgentEvents,
    private readonly uow: UnitOfWork,
    private readonly outbox: OutboxService,
    private readonly sandbox: Sandbox,
    private readonly relays: ModelRelays,
    private readonly projects: ProjectsService,
    private readonly tasks: TasksService,
    private readonly users: UsersService,
    private readonly builds: BuildsService,
    private readonly buildLog: BuildLogService,
    private readonly changes: ChangesService,
    private readonly config: AppConfig,
  ) {
    this.sessions = new Semaphore(config.agents.codeSession.perWorker);
  }

  /** Runs (or resumes) a code activation to its end; throws only for trouble of the platform (retried). */
  async execute(
    a: AgentActivationEntity,
    job: LeasedJob,
    stopping: () => boolean,
  ): Promise<'completed' | EndStatus | 'handed-back'> {
    const run = await this.begin(a, job, stopping).catch((err: unknown) => {
      if (err instanceof CodeEnd) return err;
      throw err;
    });
    if (run instanceof CodeEnd) return this.end(a, a.steps, run.status, run.message, null);
    await this.log(
      run,
      a.runs > 1 ? 'warn' : 'info',
      a.runs > 1 ? `从中断处继续（第 ${a.runs} 次运行）` : `开始执行：${run.state.branch}`,
    );
    try {
      await this.step(run, 'workspace', () => this.prepare(run));
      await this.step(run, 'session', () => this.session(run, codePrompt(this.promptInput(run))));
      await this.step(run, 'build', () => this.build(run));
      const rounds = this.repairRounds(a);
      while (run.state.buildStatus !== 'success') {
        // A repair round cut short (the worker died) is done again; else the next one.
        const begun = run.state.round ?? 0;
        const round = begun && !this.stepDone(run, `repair-${begun}`) ? begun : begun + 1;
        if (round > rounds) {
          throw new CodeEnd(
            'failed',
            `The build of the change is ${run.state.buildStatus ?? 'unknown'}${rounds ? ` after ${rounds} repair round${rounds > 1 ? 's' : ''}` : ''}: the change ${run.state.changeId} stays open for a person to take over`,
          );
        }
        run.state.round = round;
        await this.step(run, `repair-${round}`, async () => {
          const feedback = await this.feedback(run, round, rounds);
          await this.session(run, `${codePrompt(this.promptInput(run))}\n\n---\n\n${feedback}`, true);
          await this.build(run);
        });
      }
      await this.step(run, 'change', () => this.handOver(run));
      await this.complete(run);
      return 'completed';
    } catch (err) {
      if (err instanceof HandBack) {
        await this.save(run).catch(() => undefined);
        return 'handed-back';
      }
      if (err instanceof CodeEnd) return this.end(a, run.steps, err.status, err.message, run);
      if (err instanceof ProviderError) return this.end(a, run.steps, 'failed', err.message, run);
      throw err;
    } finally {
      await run.workspace
        ?.remove()
        .catch((err: Error) => this.logger.warn(`workspace not removed: ${err.message}`));
    }
  }

  // ---- set-up --------------------------------------------------------------------------------------

  private async begin(a: AgentActivationEntity, job: LeasedJob, stopping: () => boolean): Promise<Run> {
    if (!isCodeAgent(a.agentType))
      throw new CodeEnd('failed', `The ${a.agentType} agent does not write code`);
    const actor = await this.requester(a);
    const repo = await this.projects.repositoryAccess(a.projectId);
    if (!repo)
      throw new CodeEnd(
        'failed',
        'The project has no repository any more: set it with PUT /v2/projects/{projectId}',
      );
    const task = await this.tasks.get(actor, a.taskId).catch(() => {
      throw new CodeEnd('failed', `The task ${a.taskId} is gone or no longer visible to its requester`);
    });
    const state = { ...((a.intermediateResults?.code as CodeState | undefined) ?? {}) };
    const change = a.context?.change;
    if (!state.branch && change) {
      // On the change it adds to: its branch as pushed, its base.
      state.branch = change.branch;
      state.baseSha = change.baseSha;
      state.headSha = change.headSha;
      state.changeId = change.id;
    }
    if (!state.branch) {
      const n = await this.activations.ordinal(a.id);
      state.branch = `cocode/${task.key}-${a.agentType}-${n}`;
    }
    return {
      a,
      job,
      stopping,
      type: a.agentType,
      actor,
      builds: onBehalfOf(actor), // the build is part of the activation: a tester's test agent builds too
      task: a.context?.task ?? taskContextOf(task),
      repo: {
        url: repo.url,
        defaultBranch: repo.defaultBranch,
        pipelineId: repo.pipelineId,
        credentials: repo.credentials
          ? { username: repo.credentials.username, password: repo.credentials.token }
          : null,
      },
      state,
      steps: [...a.steps],
      workspace: null,
      prepared: false,
      usage: { inputTokens: a.inputTokens, outputTokens: a.outputTokens, cacheReadTokens: a.cacheReadTokens },
      cost: Number(a.costUsd),
      turns: a.numTurns ?? 0,
      model: a.modelUsed,
      transcript: '',
      plan: null,
      documents: await this.documents.withContent(a.context?.documents ?? []),
      changeDiff: change ? await this.changes.storedDiff(change.id) : null,
    };
  }

  /** The requester as the worker acts for them (builds, merges): their role now, all its scopes. */
  private async requester(a: AgentActivationEntity): Promise<Principal> {
    const user = a.requestedBy ? await this.users.authState(a.requestedBy) : null;
    const actor = actingFor(user, `activation:${a.id}`);
    if (!actor) throw new CodeEnd('failed', 'The user who activated the agent is no longer active');
    return actor;
  }

  private repairRounds(a: AgentActivationEntity): number {
    const n = a.config.repairRounds;
    return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : 2;
  }

  private gitOptions(run: Run): GitScriptOptions {
    return {
      sandbox: this.sandbox,
      workspace: run.workspace!.dir,
      url: run.repo.url,
      fileRoots: this.config.gitFileRoots,
      timeoutMs: this.config.builds.cloneTimeoutSeconds * 1000,
      jobId: run.a.id,
      signal: run.job.signal,
      credentials: run.repo.credentials,
    };
  }

  private promptInput(run: Run) {
    return {
      agentType: run.type,
      task: run.task,
      input: run.a.input,
      documents: run.documents,
      branch: run.state.branch!,
      change: run.a.context?.change ? { id: run.a.context.change.id, diff: run.changeDiff ?? '' } : null,
    };
  }

  // ---- steps -------------------------------------------------------------------------------------

  private stepDone(run: Run, key: string): boolean {
    return run.steps.find((s) => s.key === key)?.status === 'completed';
  }

  /** Runs one step unless it is done: in progress, then completed, each saved with the state. */
  private async step(run: Run, key: string, fn: () => Promise<void>): Promise<void> {
    let i = run.steps.findIndex((s) => s.key === key);
    if (i < 0) {
      const def = repairStep(Number(key.slice('repair-'.length)));
      const at = run.steps.findIndex((s) => s.key === 'change');
      i = at < 0 ? run.steps.length : at;
      run.steps.splice(i, 0, {
        key: def.key,
        name: def.name,
        status: 'pending',
        progress: 0,
        startedAt: null,
        completedAt: null,
      });
    }
    if (run.steps[i].status === 'completed') return;
    this.assertGoingOn(run);
    const name = run.steps[i].name;
    run.steps[i] = {
      ...run.steps[i],
      status: 'in_progress',
      progress: 0,
      startedAt: new Date().toISOString(),
    };
    await this.save(run, { currentStep: name });
    await this.events.append(run.a.id, 'step', { step: name, key, status: 'in_progress', index: i });
    await fn();
    i = run.steps.findIndex((s) => s.key === key);
    run.steps[i] = {
      ...run.steps[i],
      status: 'completed',
      progress: 100,
      completedAt: new Date().toISOString(),
    };
    const progress = this.progressOf(run.steps);
    await this.save(run, { progress });
    await this.events.appendMany(run.a.id, [
      { type: 'step', data: { step: name, key, status: 'completed', index: i } },
      { type: 'progress', data: { progress, currentStep: name } },
      { type: 'log', data: { level: 'info', message: `已完成：${name}` } },
    ]);
  }

  private progressOf(steps: StepState[]): number {
    return Math.min(
      99,
      Math.round((100 * steps.filter((s) => s.status === 'completed').length) / steps.length),
    );
  }

  private assertGoingOn(run: Run): void {
    if (run.job.signal.aborted) throw new CodeEnd('cancelled', 'cancelled');
    if (run.stopping()) throw new HandBack();
  }

  private async save(run: Run, extra: { currentStep?: string; progress?: number } = {}): Promise<void> {
    await this.activations.save(run.a.id, {
      steps: run.steps,
      intermediateResults: { ...(run.a.intermediateResults ?? {}), code: run.state },
      tokensUsed: run.usage.inputTokens + run.usage.outputTokens,
      ...run.usage,
      costUsd: run.cost,
      numTurns: run.turns,
      modelUsed: run.model,
      ...extra,
    });
  }

  private async log(run: Run, level: 'info' | 'warn' | 'error', message: string, extra = {}): Promise<void> {
    await this.events.append(run.a.id, 'log', { level, message, ...extra });
  }

  /** A clone on the branch in a fresh workspace: from the default branch, or from what was pushed. */
  private async prepare(run: Run): Promise<void> {
    if (run.prepared) return;
    run.workspace = await Workspace.create(this.config.builds.workspaceRoot, run.a.id, (...p) =>
      this.sandbox.own(...p),
    );
    const r = await prepareBranch(
      this.gitOptions(run),
      run.repo.url,
      run.repo.defaultBranch,
      run.state.branch!,
      Boolean(run.state.headSha),
    );
    this.assertGoingOn(run);
    if (!r.ok) throw new ProviderError(`The repository could not be checked out: ${r.reason}`);
    run.state.baseSha ??= r.baseSha;
    run.prepared = true;
    await this.log(
      run,
      'info',
      `工作区就绪：${run.state.branch}（基于 ${run.repo.defaultBranch} ${r.baseSha.slice(0, 12)}）`,
    );
  }

  /**
   * One session on the workspace, then the commit, the push and the change. A repair session that
   * changes nothing ends the activation: building the same head again cannot turn it green.
   */
  private async session(run: Run, prompt: string, repair = false): Promise<void> {
    await this.prepare(run);
    if (run.a.provider === 'claude-code') await this.claudeCode(run, prompt);
    else await this.templateSession(run);
    this.assertGoingOn(run);
    const options = this.gitOptions(run);
    const subject = repair
      ? `${run.task.key}: repair round ${run.state.round} (${run.type} agent)`
      : `${run.task.key}: ${run.task.title}`.slice(0, 200);
    const commit = await commitAll(options, run.type, subject, run.a.id);
    if (!commit.ok) throw new ProviderError(`The work could not be committed: ${commit.reason}`);
    if (commit.sha === (run.state.headSha ?? run.state.baseSha))
      throw new CodeEnd(
        'failed',
        repair
          ? `The repair session changed nothing${run.state.changeId ? `: the change ${run.state.changeId} stays open` : ''}`
          : 'The session changed no file: there is nothing to review',
      );
    const push = await pushBranch(options, run.state.branch!, run.state.baseSha!);
    this.assertGoingOn(run);
    if (!push.ok) throw new ProviderError(`The branch could not be pushed: ${push.reason}`);
    const { ok: _ok, ...inspected } = push;
    run.state.headSha = commit.sha;
    run.state.buildId = undefined;
    run.state.buildStatus = undefined;
    await this.save(run);
    const change = await this.changes
      .open(
        {
          projectId: run.a.projectId,
          taskId: run.a.taskId,
          activationId: run.a.id,
          repositoryUrl: run.repo.url,
          branch: run.state.branch!,
          baseBranch: run.repo.defaultBranch,
          baseSha: run.state.baseSha!,
          headSha: commit.sha,
        },
        inspected,
      )
      .catch((err: Error) => {
        throw new ProviderError(`The change could not be opened: ${err.message}`);
      });
    run.state.changeId = change.id;
    await this.save(run);
    await this.log(
      run,
      'info',
      `已提交 ${commit.sha.slice(0, 12)} 到 ${run.state.branch}：变更 ${change.id}（${change.diffStat.files} 个文件，+${change.diffStat.additions} -${change.diffStat.deletions}）`,
      { changeId: change.id, headSha: commit.sha },
    );
  }

  private async claudeCode(run: Run, prompt: string): Promise<void> {
    const executable = await findClaudeCode(this.config.agents.claudeCodeExecutable);
    if (!executable)
      throw new ProviderError(
        "Claude Code's CLI is not installed on this worker: install the optional dependency @anthropic-ai/claude-agent-sdk-linux-x64 (npm ci installs it where the platform is supported) or set CLAUDE_CODE_EXECUTABLE",
      );
    if (!this.relays.available)
      throw new ProviderError(`claude-code needs ${MODEL_KEY_VARIABLE} on the worker`);
    const cfg = this.config.agents;
    const budget = (run.a.config.budget ?? {}) as {
      maxUsd?: number;
      maxTurns?: number;
      timeoutSeconds?: number;
    };
    const maxTurns = (budget.maxTurns ?? cfg.codeSession.maxTurns) - run.turns;
    const maxUsd = budget.maxUsd !== undefined ? budget.maxUsd - run.cost : null;
    if (maxTurns <= 0 || (maxUsd !== null && maxUsd <= 0))
      throw new CodeEnd(
        'budget_exceeded',
        maxTurns <= 0
          ? `The activation used its ${budget.maxTurns ?? cfg.codeSession.maxTurns} turns (config.budget.maxTurns)`
          : `The activation spent its budget of $${budget.maxUsd} (config.budget.maxUsd)`,
      );
    const requested = run.a.config.model as string | undefined;
    const model = (requested && cfg.modelAliases[requested]) || requested || cfg.defaultModel;
    const notes: SessionNote[] = [];
    let flushing: Promise<void> = Promise.resolve();
    const flush = () => {
      const batch = notes.splice(0);
      if (!batch.length) return;
      flushing = flushing.then(() =>
        this.events
          .appendMany(
            run.a.id,
            batch.map((n) => ({
              type: 'log' as const,
              data: { level: n.level, message: n.message, kind: n.kind, ...(n.tool ? { tool: n.tool } : {}) },
            })),
          )
          .then(
            () => undefined,
            () => undefined,
          ),
      );
    };
    if (this.sessions.inUse >= this.config.agents.codeSession.perWorker)
      await this.log(run, 'info', '等待本工作进程空闲的会话名额（AGENTS_CODE_SESSIONS）');
    // SIGTERM: the session is stopped at once and the activation handed back (another worker
    // starts the session again); waiting for it could outlast any shutdown grace.
    const shutdown = new AbortController();
    const signal = AbortSignal.any([run.job.signal, shutdown.signal]);
    const timer = setInterval(() => {
      flush();
      if (run.stopping()) shutdown.abort();
    }, 250);
    const outcome = await this.sessions
      .with(
        () =>
          runCodeSession({
            sandbox: this.sandbox,
            relays: this.relays,
            workspace: run.workspace!,
            executable,
            prompt,
            model,
            maxTurns,
            maxBudgetUsd: maxUsd,
            timeoutMs: (budget.timeoutSeconds ?? cfg.codeSession.timeoutSeconds) * 1000,
            signal,
            jobId: run.a.id,
            onNote: (n) => notes.push(n),
          }),
        signal,
      )
      .catch((err: Error) => {
        this.assertGoingOn(run);
        throw err;
      })
      .finally(() => {
        clearInterval(timer);
        flush();
      });
    await flushing;
    const r = outcome.result;
    if (r) {
      run.usage = addUsage(run.usage, r.usage);
      run.cost = Math.round((run.cost + r.costUsd) * 1e6) / 1e6;
      run.turns += r.numTurns;
      run.model = r.model ?? model;
      if (r.text && !r.isError) run.state.summary = clip(r.text, 4000);
    }
    if (run.transcript.length < TRANSCRIPT_MAX) run.transcript += outcome.transcript;
    await this.save(run);
    if (outcome.status === 'success') return;
    if (outcome.status === 'cancelled') {
      this.assertGoingOn(run);
      throw new CodeEnd('cancelled', 'cancelled');
    }
    throw new CodeEnd(outcome.status, outcome.reason ?? outcome.status);
  }

  /**
   * The offline session: the agent's template plan, written as a file of the branch by a command
   * in the sandbox (the checkout is the repository's: its paths may be links).
   */
  private async templateSession(run: Run): Promise<void> {
    const def = AGENTS[run.type];
    const ctx = {
      agentType: run.type,
      input: run.a.input,
      results: {} as Record<string, unknown>,
      outputFormat: 'markdown' as const,
    };
    for (const step of def.steps) ctx.results[step.key] = step.template(ctx);
    const plan = def.assemble(ctx).document.content;
    const path = `docs/cocode/${run.task.key}-${run.type}.md`;
    const content = `# ${run.task.key}: ${run.task.title}\n\n${plan.replace(/^# .*\n+/, '')}\n`;
    let output = '';
    const r = await this.sandbox.run({
      argv: [
        '/bin/sh',
        '-c',
        'mkdir -p "$(dirname "$1")" && printf "%s" "$COCODE_CONTENT" > "$1"',
        'template',
        path,
      ],
      workspace: run.workspace!.dir,
      cwd: 'src',
      env: { COCODE_CONTENT: content },
      network: 'none',
      timeoutMs: 30_000,
      signal: run.job.signal,
      onOutput: (t) => (output = (output + t).slice(-500)),
      jobId: run.a.id,
    });
    this.assertGoingOn(run);
    if (r.outcome !== 'exited' || r.exitCode !== 0)
      throw new ProviderError(`The plan could not be written: ${r.reason ?? output.trim() ?? r.outcome}`);
    run.plan = content;
    run.model = 'template';
    run.state.summary = `Wrote the ${run.type} plan to ${path}`;
    await this.log(run, 'info', `模板计划已写入 ${path}`, { kind: 'tool', tool: 'Write' });
  }

  /** The project's pipeline on the head; waits for its end (cancelling it when the activation is). */
  private async build(run: Run): Promise<void> {
    const pipelineId = run.repo.pipelineId;
    if (!pipelineId)
      throw new CodeEnd(
        'failed',
        `The project's repository names no pipeline (repository.pipelineId) to build the change ${run.state.changeId} with`,
      );
    for (;;) {
      const build = await this.buildOnce(run, pipelineId);
      // A build whose worker died says nothing of the change: build the same head again.
      if (!lostItsWorker(build) || (run.state.rebuilds ?? 0) >= MAX_REBUILDS) return;
      run.state.rebuilds = (run.state.rebuilds ?? 0) + 1;
      run.state.buildId = undefined;
      run.state.buildStatus = undefined;
      await this.save(run);
      await this.log(run, 'warn', `构建 ${build.buildId} 的执行节点已停止，重新构建`, {
        buildId: build.buildId,
      });
    }
  }

  /** Triggers the build of the head unless one was (an earlier run of the step), and waits for it. */
  private async buildOnce(run: Run, pipelineId: string): Promise<BuildDto> {
    if (!run.state.buildId) {
      const triggered = await this.builds
        .trigger(run.builds, pipelineId, { branch: run.state.branch, commit: run.state.headSha })
        .catch((err: unknown) => {
          if (err instanceof AppError)
            throw new CodeEnd('failed', `The build could not start: ${err.message}`);
          throw err;
        });
      run.state.buildId = triggered.buildId;
      await this.save(run);
      await this.log(run, 'info', `构建已触发：${triggered.buildId}`, { buildId: triggered.buildId });
    }
    const build = await this.waitForBuild(run, run.state.buildId);
    run.state.buildStatus = build.status;
    await this.save(run);
    await this.log(
      run,
      build.status === 'success' ? 'info' : 'warn',
      `构建 ${build.buildId}：${build.status}${build.error ? `（${build.error}）` : ''}`,
      { buildId: build.buildId, buildStatus: build.status },
    );
    return build;
  }

  /** Waits for the build's end: woken by its status events, reading it again at least every BUILD_POLL_MS. */
  private async waitForBuild(run: Run, buildId: string): Promise<BuildDto> {
    const watch = await this.buildLog.watch(buildId);
    try {
      for (;;) {
        if (run.job.signal.aborted) {
          await this.builds.cancel(run.builds, buildId).catch(() => undefined);
          throw new CodeEnd('cancelled', 'cancelled');
        }
        // SIGTERM: the build goes on; the worker that resumes the activation waits for it.
        if (run.stopping()) throw new HandBack();
        const build = await this.builds.get(run.builds, buildId);
        if (['success', 'failed', 'cancelled'].includes(build.status)) return build;
        await watch.next(BUILD_POLL_MS, run.job.signal);
      }
    } finally {
      await watch.close();
    }
  }

  /** What the repair session is told: the failing stage, its reason, the end of the build's log. */
  private async feedback(run: Run, round: number, rounds: number): Promise<string> {
    const buildId = run.state.buildId!;
    const build = await this.builds.get(run.builds, buildId);
    const failed = build.stages.find((s) => s.status === 'failed') ?? null;
    const log = await this.buildLog.text(buildId).catch(() => '');
    const tail = log.length > LOG_TAIL_BYTES ? log.slice(-LOG_TAIL_BYTES) : log;
    await this.log(
      run,
      'warn',
      `修复第 ${round} 轮：${failed ? `阶段 ${failed.name} 失败` : `构建 ${build.status}`}`,
    );
    return repairPrompt({
      round,
      rounds,
      stage: failed?.name ?? null,
      reason: failed?.reason ?? build.error,
      logTail: tail,
      failures: await this.junitFailures(run, build),
    });
  }

  /** The failed and errored cases of the build's JUnit reports (its .xml artifacts that parse as JUnit). */
  private async junitFailures(
    run: Run,
    build: BuildDto,
  ): Promise<Array<{ name: string; message: string | null }>> {
    const out: Array<{ name: string; message: string | null }> = [];
    const reports = build.artifacts
      .filter((a) => /\.xml$/i.test(a.name) && a.size <= JUNIT_MAX_BYTES)
      .slice(0, 5);
    for (const artifact of reports) {
      try {
        const file = await this.builds.artifact(run.builds, build.buildId, artifact.name);
        const chunks: Buffer[] = [];
        for await (const chunk of file.stream) chunks.push(chunk as Buffer);
        const report = parseJUnit(Buffer.concat(chunks).toString('utf8'));
        for (const c of report.cases)
          if (c.status === 'failed' || c.status === 'error')
            out.push({ name: [c.classname, c.name].filter(Boolean).join(' > '), message: c.message });
      } catch (err) {
        // Not a JUnit report, or gone: the log tail speaks for the build.
        this.logger.warn(`${build.buildId} ${artifact.name}: not read as JUnit (${(err as Error).message})`);
      }
    }
    return out;
  }

  /** Green: merge when asked to (autoMerge), else the change waits for review. */
  private async handOver(run: Run): Promise<void> {
    if (run.a.config.autoMerge !== true) {
      await this.log(run, 'info', `变更 ${run.state.changeId} 构建通过，等待评审`);
      return;
    }
    await this.changes.merge(run.actor, run.state.changeId!, {}).catch((err: unknown) => {
      if (err instanceof AppError)
        throw new CodeEnd('failed', `The change could not be merged: ${err.message}`);
      throw err;
    });
    await this.log(run, 'info', `变更 ${run.state.changeId} 已提交合并`);
  }

  // ---- the end -----------------------------------------------------------------------------------

  private async outcome(run: Run): Promise<{ output: Record<string, unknown>; files: AgentFile[] }> {
    const change = run.state.changeId
      ? await this.changes.get(run.actor, run.state.changeId).catch(() => null)
      : null;
    const files: AgentFile[] = [];
    if (run.transcript)
      files.push({ name: 'transcript.jsonl', contentType: 'application/x-ndjson', content: run.transcript });
    if (run.plan)
      files.push({ name: `${run.type}-plan.md`, contentType: 'text/markdown', content: run.plan });
    return {
      output: {
        summary: run.state.summary ?? null,
        change: run.state.changeId
          ? {
              changeId: run.state.changeId,
              branch: run.state.branch,
              headSha: run.state.headSha,
              buildId: change?.buildId ?? run.state.buildId ?? null,
              buildStatus: change?.buildStatus ?? run.state.buildStatus ?? null,
              testSummary: change?.testSummary ?? null,
            }
          : null,
        repairRounds: run.state.round ?? 0,
        provider: run.a.provider,
      },
      files,
    };
  }

  private async complete(run: Run): Promise<void> {
    const { output, files } = await this.outcome(run);
    const tokens = run.usage.inputTokens + run.usage.outputTokens;
    await this.uow.run(async (tx) => {
      const row = await this.activations.complete(tx.manager, run.a.id, {
        output,
        files,
        results: { ...(run.a.intermediateResults ?? {}), code: run.state },
        tokens,
        model: run.model,
      });
      if (run.a.notifyOnComplete)
        await this.outbox.publish(
          tx,
          'agent.completed',
          {
            activationId: run.a.id,
            agentType: run.a.agentType,
            taskId: run.a.taskId,
            status: 'completed',
            documentId: null,
            change: output.change,
            metrics: { executionTime: row?.execution_ms ?? null, tokensUsed: tokens, model: run.model },
          },
          run.a.projectId,
        );
    });
    await this.activations.save(run.a.id, { steps: run.steps, progress: 100 });
    await this.events.append(run.a.id, 'completed', {
      status: 'completed',
      progress: 100,
      tokensUsed: tokens,
      model: run.model,
      change: output.change,
    });
  }

  private async end(
    a: AgentActivationEntity,
    steps: StepState[],
    status: EndStatus,
    message: string,
    run: Run | null,
  ): Promise<EndStatus> {
    // Cancelled: what did not finish is cancelled; else the step in progress failed, the rest stays pending.
    const done = steps.map((s): StepState => {
      if (status === 'cancelled' && (s.status === 'pending' || s.status === 'in_progress'))
        return { ...s, status: 'cancelled' };
      return s.status === 'in_progress' ? { ...s, status: 'failed' } : s;
    });
    const kept = run ? await this.outcome(run) : undefined;
    if (run) await this.save(run);
    await this.activations.finish(a.id, status, done, status === 'cancelled' ? null : message, kept);
    if (status === 'cancelled') {
      await this.events.append(a.id, 'cancelled', { status: 'cancelled', message: '已取消' });
    } else {
      await this.events.append(a.id, 'log', { level: 'error', message });
      await this.events.append(a.id, 'failed', {
        status,
        error: message,
        change: kept?.output.change ?? null,
      });
    }
    return status;
  }
}
