import { Injectable, Logger } from '@nestjs/common';
import { AppConfig, newId, OutboxService, QueueName, QueueRegistry, Sql, UnitOfWork } from '@app/core';
import { ProjectStatsService } from '@app/projects';
import { JobLeases, LeasedJob, Renewal } from '@app/runner';
import { AgentActivationEntity, StepState } from './agent-activation.entity';
import { AGENTS } from './agent-definitions';
import { AgentEvents } from './agent-events.service';
import { StepContext } from './agent-input';
import { ProviderError } from './providers/llm-provider';
import { Providers } from './providers/providers';

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
    private readonly sql: Sql,
    private readonly uow: UnitOfWork,
    private readonly events: AgentEvents,
    private readonly providers: Providers,
    private readonly stats: ProjectStatsService,
    private readonly outbox: OutboxService,
    private readonly queues: QueueRegistry,
    private readonly config: AppConfig,
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
    const [claimed] = await this.sql.rows<AgentActivationEntity>(
      `UPDATE agent_activations
          SET status = 'processing', locked_until = now() + make_interval(secs => $2::float / 1000), runs = runs + 1,
              started_at = COALESCE(started_at, now()), updated_at = now()
        WHERE id = $1 AND status IN ('queued', 'processing') AND (locked_until IS NULL OR locked_until < now())
        RETURNING id, agent_type AS "agentType", task_id AS "taskId", project_id AS "projectId", requested_by AS "requestedBy",
                  input, config, notify_on_complete AS "notifyOnComplete", provider, steps, intermediate_results AS "intermediateResults",
                  tokens_used AS "tokensUsed", model_used AS "modelUsed", cancel_requested AS "cancelRequested", runs, started_at AS "startedAt"`,
      [activationId, leaseMs],
    );
    if (!claimed) return 'skipped';
    return this.leases.hold(claimed.id, { ms: leaseMs, renew: () => this.renew(claimed.id) }, (job) =>
      this.execute(claimed, job),
    );
  }

  private async execute(a: AgentActivationEntity, job: LeasedJob): Promise<RunOutcome> {
    const def = AGENTS[a.agentType];
    const provider = this.providers.get(a.provider);
    const steps: StepState[] = a.steps;
    const results: Record<string, unknown> = { ...(a.intermediateResults ?? {}) };
    const ctx: StepContext = {
      agentType: a.agentType,
      input: a.input,
      results,
      outputFormat: (a.config.outputFormat as 'markdown' | 'json' | undefined) ?? 'markdown',
    };
    let tokens = a.tokensUsed;
    let model = a.modelUsed;
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
        steps[i] = { ...steps[i], status: 'completed', progress: 100, completedAt: new Date().toISOString() };
        const progress = this.progressOf(steps);
        await this.save(a.id, {
          steps,
          intermediateResults: results,
          tokensUsed: tokens,
          modelUsed: model,
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
      await this.sql
        .rows(`UPDATE agent_activations SET locked_until = NULL WHERE id = $1`, [a.id])
        .catch(() => undefined);
      throw err;
    }
  }

  /** Renews the lease; a cancel asked while a model call is in flight is heard here. */
  private async renew(id: string): Promise<Renewal> {
    const [r] = await this.sql.rows<{ cancel_requested: boolean }>(
      `UPDATE agent_activations SET locked_until = now() + make_interval(secs => $2::float / 1000) WHERE id = $1 RETURNING cancel_requested`,
      [id, this.config.agents.leaseMs],
    );
    return r?.cancel_requested ? 'cancelled' : 'held';
  }

  /**
   * Re-queues activations nobody is running (a worker died holding them, or their job was lost).
   * Job ids carry the run count, so a duplicate is harmless.
   */
  async resumeOrphans(): Promise<number> {
    const orphans = await this.sql.rows<{ id: string; runs: number }>(
      `SELECT id, runs FROM agent_activations
        WHERE (status = 'processing' AND (locked_until IS NULL OR locked_until < now()))
           OR (status = 'queued' AND created_at < now() - interval '5 minutes')
        ORDER BY updated_at LIMIT 200`,
    );
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

  private async cancelRequested(id: string): Promise<boolean> {
    const [r] = await this.sql.rows<{ cancel_requested: boolean }>(
      `SELECT cancel_requested FROM agent_activations WHERE id = $1`,
      [id],
    );
    return Boolean(r?.cancel_requested);
  }

  private async handBack(id: string, runs: number): Promise<RunOutcome> {
    await this.sql.rows(
      `UPDATE agent_activations SET locked_until = NULL, updated_at = now() WHERE id = $1`,
      [id],
    );
    await this.queues
      .get(QueueName.Agents)
      .add('agent.run', { activationId: id }, { jobId: `${id}-handback-${runs}` });
    await this.log(id, 'warn', '工作进程停止：已交还队列，由其他工作进程继续');
    return 'handed-back';
  }

  private async log(id: string, level: 'info' | 'warn' | 'error', message: string): Promise<void> {
    await this.events.append(id, 'log', { level, message });
  }

  private async save(
    id: string,
    fields: Partial<
      Pick<
        AgentActivationEntity,
        'steps' | 'currentStep' | 'progress' | 'intermediateResults' | 'tokensUsed' | 'modelUsed'
      >
    >,
  ): Promise<void> {
    const columns: Record<string, string> = {
      steps: 'steps',
      currentStep: 'current_step',
      progress: 'progress',
      intermediateResults: 'intermediate_results',
      tokensUsed: 'tokens_used',
      modelUsed: 'model_used',
    };
    const entries = Object.entries(fields);
    const sets = entries.map(([k], i) => `${columns[k]} = $${i + 2}`).join(', ');
    const values = entries.map(([k, v]) =>
      k === 'steps' || k === 'intermediateResults' ? JSON.stringify(v) : v,
    );
    await this.sql.rows(`UPDATE agent_activations SET ${sets}, updated_at = now() WHERE id = $1`, [
      id,
      ...values,
    ]);
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
    await this.sql.rows(
      `UPDATE agent_activations SET status = $2, steps = $3, error = $4, current_step = NULL, locked_until = NULL,
              completed_at = now(), execution_ms = (extract(epoch FROM now() - started_at) * 1000)::int, updated_at = now()
        WHERE id = $1`,
      [id, status, JSON.stringify(done), error],
    );
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
      const [[row]]: [Array<{ execution_ms: number }>, number] = await tx.manager.query(
        `UPDATE agent_activations SET status = 'completed', output = $2, files = $3, intermediate_results = $4, tokens_used = $5, model_used = $6,
                progress = 100, current_step = NULL, locked_until = NULL, completed_at = now(),
                execution_ms = (extract(epoch FROM now() - started_at) * 1000)::int, updated_at = now()
          WHERE id = $1 AND status = 'processing' RETURNING execution_ms`,
        [
          a.id,
          JSON.stringify(outcome.output),
          JSON.stringify(outcome.files),
          JSON.stringify(results),
          tokens,
          model,
        ],
      );
      const document = await tx.manager.query(
        `INSERT INTO project_documents (id, project_id, task_id, activation_id, kind, title, format, content, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (activation_id) DO NOTHING RETURNING id`,
        [
          newId('document'),
          a.projectId,
          a.taskId,
          a.id,
          outcome.document.kind,
          outcome.document.title.slice(0, 300),
          ctx.outputFormat,
          outcome.document.content,
          a.requestedBy,
        ],
      );
      if (document.length && outcome.document.kind === 'prd')
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
            documentId: document[0]?.id ?? null,
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
