import { Injectable, Logger } from '@nestjs/common';
import { AppConfig, OutboxService, QueueName, QueueRegistry, UnitOfWork } from '@app/core';
import { ProjectStatsService } from '@app/projects';
import { JobLeases, LeasedJob, Renewal } from '@app/runner';
import { ActivationProgressFields, ActivationsRepository } from './activations.repository';
import { AgentActivationEntity, StepState } from './agent-activation.entity';
import { AGENTS } from './definitions';
import { AgentEvents } from './agent-events.service';
import { StepContext } from './agent-input';
import { CodeWork } from './code/code-work.service';
import { ProjectDocumentsRepository } from './project-documents.repository';
import { ProviderError } from './providers/llm-provider';
import { Providers } from './providers/providers';
import { addUsage, costOf, TokenUsage } from './usage/model-prices';

export type RunOutcome = 'completed' | 'failed' | 'cancelled' | 'skipped' | 'handed-back';

class Cancelled extends Error {}

/**
 * Runs an activation step by step, persisting each step's result as it completes, so a run cut
 * short (SIGKILL, a lost lease, SIGTERM) resumes at the first unfinished step on whichever worker
 * picks it up next. A lease (locked_until, renewed by heartbeats) keeps two workers from running
 * the same activation.
 */
@Injectable()
export class AgentRunner {
  private readonly logger = new Logger(AgentRunner.name);
  private readonly leases = new JobLeases('activation', this.logger);

  constructor(
    private readonly activations: ActivationsRepository,
    private readonly documents: ProjectDocumentsRepository,
    private readonly uow: UnitOfWork,
    private readonly events: AgentEvents,
    private readonly providers: Providers,
    private readonly stats: ProjectStatsService,
    private readonly outbox: OutboxService,
    private readonly queues: QueueRegistry,
    private readonly config: AppConfig,
    private readonly code: CodeWork,
  ) {}

  /** In the worker: picks up activations whose worker died (their lease ran out) well before BullMQ's stall check would. */
  startSweeping(): void {
    const every = Math.max(1000, Math.floor(this.config.agents.leaseMs / 2));
    void this.leases.sweepEvery(every, () => this.resumeOrphans());
  }

  /**
   * SIGTERM: finish the step in flight, then hand the activation back to the queue. Nothing waits
   * here: the BullMQ worker's close waits for the running jobs, beside the other queues'.
   */
  stop(): void {
    void this.leases.shutdown({ abortRunning: false });
  }

  async run(activationId: string): Promise<RunOutcome> {
    this.leases.assertRunning();
    const leaseMs = this.config.agents.leaseMs;
    const claimed = await this.activations.claim(activationId, leaseMs);
    if (!claimed) return 'skipped';
    const outcome = await this.leases.hold(
      claimed.id,
      { ms: leaseMs, renew: () => this.renew(claimed.id) },
      (job) => this.execute(claimed, job),
    );
    // A flow's stage ended: the flow moves on (its sweep catches a lost job).
    if (claimed.flowId && outcome !== 'handed-back')
      await this.queues.get(QueueName.Agents).add('flow.advance', { flowId: claimed.flowId });
    return outcome;
  }

  private async execute(a: AgentActivationEntity, job: LeasedJob): Promise<RunOutcome> {
    if (a.workflow === 'code') {
      const end = await this.code.execute(a, job, () => this.leases.stopping);
      if (end === 'handed-back') return this.handBack(a.id, a.runs);
      return end === 'completed' || end === 'cancelled' ? end : 'failed';
    }
    const def = AGENTS[a.agentType];
    const provider = this.providers.get(a.provider);
    const steps: StepState[] = a.steps;
    const results: Record<string, unknown> = { ...(a.intermediateResults ?? {}) };
    const ctx: StepContext = {
      agentType: a.agentType,
      input: a.input,
      results,
      outputFormat: (a.config.outputFormat as 'markdown' | 'json' | undefined) ?? 'markdown',
      task: a.context?.task,
      documents: await this.documents.withContent(a.context?.documents ?? []),
    };
    let tokens = a.tokensUsed;
    let model = a.modelUsed;
    let usage: TokenUsage = {
      inputTokens: a.inputTokens,
      outputTokens: a.outputTokens,
      cacheReadTokens: a.cacheReadTokens,
    };
    let cost = Number(a.costUsd);
    try {
      await this.log(
        a.id,
        a.runs > 1 ? 'warn' : 'info',
        a.runs > 1 ? `从中断处继续（第 ${a.runs} 次运行）` : `开始执行：${def.title}`,
      );
      for (let i = 0; i < def.steps.length; i++) {
        if (steps[i].status === 'completed') continue;
        if (await this.cancelRequested(a.id)) throw new Cancelled();
        if (this.leases.stopping) return await this.handBack(a.id, a.runs);
        const step = def.steps[i];
        steps[i] = { ...steps[i], status: 'in_progress', progress: 0, startedAt: new Date().toISOString() };
        await this.save(a.id, { steps, currentStep: step.name, progress: this.progressOf(steps) });
        await this.events.append(a.id, 'step', {
          step: step.name,
          key: step.key,
          status: 'in_progress',
          index: i,
        });

        let result;
        try {
          result = await provider.runStep(
            {
              agent: def,
              step,
              ctx,
              model: (a.config.model as string | undefined) ?? null,
              temperature: (a.config.temperature as number | undefined) ?? null,
            },
            job.signal,
          );
        } catch (err) {
          if (job.signal.aborted) throw new Cancelled();
          throw err;
        }
        results[step.key] = result.output;
        tokens += result.tokensUsed;
        model = result.model;
        usage = addUsage(usage, result.usage);
        cost =
          Math.round((cost + costOf(result.model, result.usage, this.config.agents.modelPrices)) * 1e6) / 1e6;
        steps[i] = { ...steps[i], status: 'completed', progress: 100, completedAt: new Date().toISOString() };
        const progress = this.progressOf(steps);
        await this.save(a.id, {
          steps,
          intermediateResults: results,
          tokensUsed: tokens,
          modelUsed: model,
          ...usage,
          costUsd: cost,
          progress,
        });
        await this.events.appendMany(a.id, [
          { type: 'step', data: { step: step.name, key: step.key, status: 'completed', index: i } },
          { type: 'progress', data: { progress, currentStep: step.name } },
          { type: 'log', data: { level: 'info', message: `已完成：${step.name}` } },
        ]);
      }
      await this.complete(a, results, tokens, model, ctx);
      return 'completed';
    } catch (err) {
      if (err instanceof Cancelled) {
        await this.finish(a.id, 'cancelled', steps, null);
        await this.events.append(a.id, 'cancelled', { status: 'cancelled', message: '已取消' });
        return 'cancelled';
      }
      if (err instanceof ProviderError) {
        const message = err.message;
        const i = steps.findIndex((s) => s.status === 'in_progress');
        if (i >= 0) steps[i] = { ...steps[i], status: 'failed' };
        await this.finish(a.id, 'failed', steps, message);
        await this.log(a.id, 'error', message);
        await this.events.append(a.id, 'failed', { status: 'failed', error: message });
        return 'failed';
      }
      // Database or Redis trouble: free the lease so the retry (or another worker) can resume at once.
      await this.activations.dropLease(a.id).catch(() => undefined);
      throw err;
    }
  }

  /** Renews the lease; a cancel asked while a model call is in flight is heard here. */
  private async renew(id: string): Promise<Renewal> {
    return (await this.activations.renew(id, this.config.agents.leaseMs)) ? 'cancelled' : 'held';
  }

  /**
   * Re-queues activations nobody is running (a worker died holding them, or their job was lost).
   * Job ids carry the run count, so a duplicate is harmless.
   */
  async resumeOrphans(): Promise<number> {
    const orphans = await this.activations.orphans();
    for (const o of orphans) {
      await this.queues
        .get(QueueName.Agents)
        .add('agent.run', { activationId: o.id }, { jobId: `${o.id}-resume-${o.runs}` });
    }
    return orphans.length;
  }

  private progressOf(steps: StepState[]): number {
    return Math.round((100 * steps.filter((s) => s.status === 'completed').length) / steps.length);
  }

  private cancelRequested(id: string): Promise<boolean> {
    return this.activations.cancelRequested(id);
  }

  private async handBack(id: string, runs: number): Promise<RunOutcome> {
    await this.activations.handBack(id);
    await this.queues
      .get(QueueName.Agents)
      .add('agent.run', { activationId: id }, { jobId: `${id}-handback-${runs}` });
    await this.log(id, 'warn', '工作进程停止：已交还队列，由其他工作进程继续');
    return 'handed-back';
  }

  private async log(id: string, level: 'info' | 'warn' | 'error', message: string): Promise<void> {
    await this.events.append(id, 'log', { level, message });
  }

  private async save(id: string, fields: ActivationProgressFields): Promise<void> {
    await this.activations.save(id, fields);
  }

  private async finish(
    id: string,
    status: 'failed' | 'cancelled',
    steps: StepState[],
    error: string | null,
  ): Promise<void> {
    const done = steps.map((s) =>
      s.status === 'pending' || s.status === 'in_progress'
        ? { ...s, status: status === 'cancelled' ? ('cancelled' as const) : s.status }
        : s,
    );
    await this.activations.finish(id, status, done, error);
  }

  private async complete(
    a: AgentActivationEntity,
    results: Record<string, unknown>,
    tokens: number,
    model: string | null,
    ctx: StepContext,
  ): Promise<void> {
    const outcome = AGENTS[a.agentType].assemble(ctx);
    await this.uow.run(async (tx) => {
      const row = await this.activations.complete(tx.manager, a.id, {
        output: outcome.output,
        files: outcome.files,
        results,
        tokens,
        model,
      });
      const documentId = await this.documents.insertOnce(tx.manager, {
        projectId: a.projectId,
        taskId: a.taskId,
        activationId: a.id,
        kind: outcome.document.kind,
        title: outcome.document.title.slice(0, 300),
        format: ctx.outputFormat,
        content: outcome.document.content,
        createdBy: a.requestedBy,
      });
      if (documentId !== undefined && outcome.document.kind === 'prd')
        await this.stats.adjust(tx, a.projectId, { totalPrds: +1 });
      if (a.notifyOnComplete) {
        await this.outbox.publish(
          tx,
          'agent.completed',
          {
            activationId: a.id,
            agentType: a.agentType,
            taskId: a.taskId,
            status: 'completed',
            documentId: documentId ?? null,
            metrics: { executionTime: row?.execution_ms ?? null, tokensUsed: tokens, model },
          },
          a.projectId,
        );
      }
    });
    await this.events.append(a.id, 'completed', {
      status: 'completed',
      progress: 100,
      tokensUsed: tokens,
      model,
    });
  }
}
