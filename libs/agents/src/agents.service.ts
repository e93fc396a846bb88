import { Injectable } from '@nestjs/common';
import {
  AppConfig,
  AppError,
  Conditions,
  iso,
  newId,
  OutboxService,
  Page,
  pageOf,
  Permission,
  Principal,
  UnitOfWork,
} from '@app/core';
import { ChangesService } from '@app/changes';
import { ProjectAccessService } from '@app/projects';
import { TasksService } from '@app/tasks';
import { EntityManager } from 'typeorm';
import { ActivationsRepository, FlowActivationRow } from './activations.repository';
import { ActivationContext, taskContextOf } from './agent-input';
import { AGENTS } from './definitions';
import { AgentActivationEntity, StepState } from './agent-activation.entity';
import { AgentEvents } from './agent-events.service';
import { ACTIVATION_PERMISSION } from './agent-permissions';
import { AGENT_ACTIVATORS, AGENT_TYPES, AgentType, ProviderName, TERMINAL_STATUSES } from './agent-types';
import { CODE_STEPS } from './code/code-steps';
import {
  ActivateAgentDto,
  ActivationAcceptedDto,
  ActivationProgressDto,
  ActivationResultDto,
  ActivationSummaryDto,
  AgentInfoDto,
  ListActivationsQueryDto,
  ListDocumentsQueryDto,
  ProjectDocumentDto,
  ProjectUsageDto,
  UsageQueryDto,
} from './agent.dto';
import { ProjectDocumentRow, ProjectDocumentsRepository } from './project-documents.repository';
import { Providers } from './providers/providers';

/** Seconds a step takes when there is no history yet, per provider. */
const DEFAULT_STEP_SECONDS: Record<ProviderName, number> = { anthropic: 20, template: 1, 'claude-code': 60 };

@Injectable()
export class AgentsService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly activations: ActivationsRepository,
    private readonly documentRows: ProjectDocumentsRepository,
    private readonly tasks: TasksService,
    private readonly access: ProjectAccessService,
    private readonly outbox: OutboxService,
    private readonly events: AgentEvents,
    private readonly providers: Providers,
    private readonly changes: ChangesService,
    private readonly config: AppConfig,
  ) {}

  definitions(actor: Principal): AgentInfoDto[] {
    return AGENT_TYPES.map((type) => ({
      type,
      name: AGENTS[type].title,
      description: AGENTS[type].description,
      steps: AGENTS[type].steps.map((s) => ({ name: s.name, key: s.key, instruction: s.instruction })),
      activatedBy: ['admin', AGENT_ACTIVATORS[type]],
      consumes: [...AGENTS[type].consumes],
      canActivate: actor.can(ACTIVATION_PERMISSION[type]),
    }));
  }

  /**
   * `flow`: a flow's stage, activated by the platform for the flow's creator (the flow checked who
   * may start it and approve its gates): no role check, the id chosen by the flow (a stage started
   * twice after a crash finds its activation there).
   */
  async activate(
    actor: Principal,
    agentType: string,
    dto: ActivateAgentDto,
    flow?: { flowId: string; activationId: string; changeId?: string },
  ): Promise<ActivationAcceptedDto> {
    const type = this.typeOf(agentType);
    if (!flow && !actor.can(ACTIVATION_PERMISSION[type])) {
      throw AppError.forbidden(`Only ${AGENT_ACTIVATORS[type]} (or admin) may activate the ${type} agent`, {
        required: ACTIVATION_PERMISSION[type],
      });
    }
    if (!flow && dto.config?.autoMerge && !actor.can(Permission.ChangesWrite))
      throw AppError.forbidden(
        'autoMerge merges the change: it needs changes:write (developer, architect, admin)',
        {
          required: Permission.ChangesWrite,
        },
      );
    const task = await this.tasks.get(actor, dto.taskId); // 404 when missing or invisible
    const id = flow?.activationId ?? newId('activation');
    let estimatedCompletionAt = new Date();
    await this.uow.run(async (tx) => {
      // Activating writes to the project: a member whose role may activate this agent.
      const { project } = flow
        ? await this.access.readable(actor, task.projectId, tx.manager)
        : await this.access.writable(actor, task.projectId, ACTIVATION_PERMISSION[type], tx.manager);
      const { provider, workflow } = this.providers.choose(type, dto.config, Boolean(project.repositoryUrl));
      const stepDefs = workflow === 'code' ? CODE_STEPS : AGENTS[type].steps;
      const steps: StepState[] = stepDefs.map((s) => ({
        key: s.key,
        name: s.name,
        status: 'pending',
        progress: 0,
        startedAt: null,
        completedAt: null,
      }));
      const estimate = await this.estimateSeconds(type, provider, stepDefs.length);
      estimatedCompletionAt = new Date(Date.now() + estimate * 1000);
      await this.withinBudget(project.id, project.monthlyBudgetUsd, tx.manager);
      // What the agent sees is fixed now: the task as it is, the newest documents it reads.
      const context: ActivationContext = {
        task: taskContextOf(task),
        documents: await this.documentRows.latestOfKinds(
          project.id,
          task.id,
          AGENTS[type].consumes,
          tx.manager,
        ),
      };
      // The test agent adds its tests to the task's open change, on its branch; in a flow, a code
      // stage after one that opened a change goes on with that change (one change per flow).
      if (workflow === 'code' && (type === 'test' || flow?.changeId)) {
        const change =
          (flow?.changeId ? await this.changes.openOne(flow.changeId, tx.manager) : null) ??
          (type === 'test' ? await this.changes.latestOpenOfTask(task.id, tx.manager) : null);
        if (change)
          context.change = {
            id: change.id,
            branch: change.branch,
            baseBranch: change.baseBranch,
            baseSha: change.baseSha,
            headSha: change.headSha,
          };
      }
      await this.activations.insert(tx.manager, {
        id,
        type,
        taskId: task.id,
        projectId: task.projectId,
        requestedBy: actor.userId,
        input: dto.input,
        config: dto.config ?? {},
        notifyOnComplete: dto.notifyOnComplete ?? true,
        provider,
        workflow,
        context,
        flowId: flow?.flowId ?? null,
        steps,
        estimatedCompletionAt,
      });
      await this.outbox.enqueue(tx, 'agent.run', { activationId: id });
    });
    return {
      activationId: id,
      agentType: type,
      taskId: task.id,
      status: 'queued',
      estimatedCompletionTime: iso(estimatedCompletionAt),
      progressUrl: `/agents/activations/${id}/progress`,
    };
  }

  async list(actor: Principal, query: ListActivationsQueryDto): Promise<Page<ActivationSummaryDto>> {
    const where = this.access.restrictToVisible(new Conditions(), actor);
    const taskId = query.taskId ? (await this.tasks.get(actor, query.taskId)).id : undefined;
    const { rows, total } = await this.activations.page(
      where,
      { taskId, agentType: query.agentType, status: query.status },
      query,
    );
    return pageOf(
      rows.map((r) => ({
        activationId: r.id,
        agentType: r.agent_type,
        taskId: r.task_id,
        projectId: r.project_id,
        status: r.status,
        progress: r.progress,
        currentStep: r.current_step,
        requestedBy: r.requested_by,
        provider: r.provider,
        error: r.error,
        createdAt: iso(r.created_at),
        completedAt: iso(r.completed_at),
      })),
      total,
      query,
    );
  }

  async progress(actor: Principal, activationId: string): Promise<ActivationProgressDto> {
    const a = await this.visible(actor, activationId);
    const logs = await this.events.since(a.id, null, ['log']);
    const intermediate: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(a.intermediateResults ?? {})) {
      if (key === 'document') continue; // the final document belongs to the result
      if (value && typeof value === 'object' && !Array.isArray(value)) Object.assign(intermediate, value);
      else intermediate[key] = value;
    }
    return {
      activationId: a.id,
      agentType: a.agentType,
      status: a.status,
      progress: a.progress,
      currentStep: a.currentStep,
      steps: a.steps.map((s) => ({ name: s.name, status: s.status, progress: s.progress })),
      intermediateResults: intermediate,
      logs: logs.map((e) => ({
        timestamp: e.createdAt,
        level: String(e.data.level ?? 'info'),
        message: String(e.data.message ?? ''),
      })),
    };
  }

  async result(actor: Principal, activationId: string): Promise<ActivationResultDto> {
    const a = await this.visible(actor, activationId);
    if (!TERMINAL_STATUSES.includes(a.status)) {
      throw AppError.conflict(`The activation is ${a.status}; its result is not ready`, {
        status: a.status,
        progressUrl: `/agents/activations/${a.id}/progress`,
      });
    }
    const base = `${this.config.http.publicBaseUrl}/v2/agents/activations/${a.id}/attachments`;
    return {
      activationId: a.id,
      status: a.status,
      output: a.output
        ? {
            ...a.output,
            attachments: (a.files ?? []).map((f) => ({
              name: f.name,
              url: `${base}/${encodeURIComponent(f.name)}`,
            })),
          }
        : null,
      metrics: {
        executionTime: a.executionMs,
        tokensUsed: a.tokensUsed,
        model: a.modelUsed,
        inputTokens: a.inputTokens,
        outputTokens: a.outputTokens,
        cacheReadTokens: a.cacheReadTokens,
        costUsd: a.costUsd,
        numTurns: a.numTurns,
      },
      completedAt: iso(a.completedAt),
      ...(a.status === 'completed' ? {} : { error: a.error }),
      documents: a.context?.documents ?? [],
    };
  }

  /**
   * Refuses a new activation once the project's activations created this calendar month (UTC)
   * have cost its monthly budget (409, naming the budget and the spend).
   */
  private async withinBudget(
    projectId: string,
    budgetUsd: number | null,
    manager: EntityManager,
  ): Promise<void> {
    if (budgetUsd === null || budgetUsd === undefined) return;
    const now = new Date();
    const since = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    const spentUsd = await this.activations.spentSince(projectId, since, manager);
    if (spentUsd >= budgetUsd)
      throw AppError.conflict(
        `This project's monthly agent budget of $${budgetUsd.toFixed(2)} is spent ($${spentUsd.toFixed(2)} since ${since.toISOString().slice(0, 10)}); raise monthlyBudgetUsd on the project or wait for next month`,
        { monthlyBudgetUsd: budgetUsd, spentUsd, since: since.toISOString() },
      );
  }

  /** What a project's activations used and cost, by UTC day, agent type and model. */
  async usage(actor: Principal, projectId: string, query: UsageQueryDto): Promise<ProjectUsageDto> {
    const { project } = await this.access.readable(actor, projectId);
    const now = new Date();
    const from = query.from
      ? new Date(query.from)
      : new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    const to = query.to ? new Date(query.to) : now;
    if (to.getTime() <= from.getTime())
      throw AppError.validation([{ field: 'to', message: 'to must be after from', code: 'invalid_range' }]);
    const lines = await this.activations.usage(project.id, from, to);
    const totals = lines.reduce(
      (t, l) => ({
        activations: t.activations + l.activations,
        inputTokens: t.inputTokens + l.inputTokens,
        outputTokens: t.outputTokens + l.outputTokens,
        cacheReadTokens: t.cacheReadTokens + l.cacheReadTokens,
        tokensUsed: t.tokensUsed + l.tokensUsed,
        costUsd: Math.round((t.costUsd + l.costUsd) * 1e6) / 1e6,
      }),
      { activations: 0, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, tokensUsed: 0, costUsd: 0 },
    );
    return { projectId: project.id, from: from.toISOString(), to: to.toISOString(), totals, lines };
  }

  async attachment(
    actor: Principal,
    activationId: string,
    name: string,
  ): Promise<{ contentType: string; content: string }> {
    const a = await this.visible(actor, activationId);
    const file = (a.files ?? []).find((f) => f.name === name);
    if (!file) throw AppError.notFound('attachment', name);
    return file;
  }

  /** Flows' activations as their stages show them (no visibility check: the flows' own read made it). */
  flowActivations(flowIds: string[]): Promise<FlowActivationRow[]> {
    return this.activations.ofFlows(flowIds);
  }

  /** An activation's state for a flow (no visibility check). */
  async stateOf(
    activationId: string,
  ): Promise<{ status: string; error: string | null; output: Record<string, unknown> | null } | null> {
    const a = await this.activations.find(activationId);
    return a ? { status: a.status, error: a.error, output: a.output } : null;
  }

  /** Asks a flow's running activation to stop (no permission check: the flow's cancel made it). */
  async cancelForFlow(activationId: string): Promise<void> {
    const updated = await this.uow.run((tx) => this.activations.requestCancel(tx.manager, activationId));
    if (updated === 'cancelled')
      await this.events.append(activationId, 'cancelled', { status: 'cancelled', message: '已取消' });
  }

  /** Queued: cancelled at once. Processing: stops between steps (or aborts the model call in flight). */
  async cancel(actor: Principal, activationId: string): Promise<ActivationSummaryDto> {
    const a = await this.visible(actor, activationId);
    await this.access.writable(actor, a.projectId, ACTIVATION_PERMISSION[a.agentType]);
    const updated = await this.uow.run((tx) => this.activations.requestCancel(tx.manager, a.id));
    if (updated === undefined)
      throw AppError.conflict(`The activation is already ${a.status}`, { status: a.status });
    if (updated === 'cancelled')
      await this.events.append(a.id, 'cancelled', { status: 'cancelled', message: '已取消' });
    else await this.events.append(a.id, 'log', { level: 'warn', message: '已请求取消' });
    return this.summary(await this.visible(actor, a.id));
  }

  async documents(
    actor: Principal,
    projectId: string,
    query: ListDocumentsQueryDto,
  ): Promise<Page<ProjectDocumentDto>> {
    const { project } = await this.access.readable(actor, projectId);
    const { rows, total } = await this.documentRows.page(project.id, query.kind, query);
    return pageOf(
      rows.map((r) => this.mapDocument(r)),
      total,
      query,
    );
  }

  async document(actor: Principal, projectId: string, documentId: string): Promise<ProjectDocumentDto> {
    const { project } = await this.access.readable(actor, projectId);
    const row = await this.documentRows.find(project.id, documentId);
    if (!row) throw AppError.notFound('document', documentId);
    return { ...this.mapDocument(row), content: row.content };
  }

  /** The activation if the caller may see its project; 404 otherwise. */
  async visible(actor: Principal, activationId: string): Promise<AgentActivationEntity> {
    const row = await this.activations.find(activationId);
    if (!row) throw AppError.notFound('activation', activationId);
    await this.access.readable(actor, row.projectId).catch(() => {
      throw AppError.notFound('activation', activationId);
    });
    return row;
  }

  private summary(a: AgentActivationEntity): ActivationSummaryDto {
    return {
      activationId: a.id,
      agentType: a.agentType,
      taskId: a.taskId,
      projectId: a.projectId,
      status: a.status,
      progress: a.progress,
      currentStep: a.currentStep,
      requestedBy: a.requestedBy,
      provider: a.provider,
      error: a.error,
      createdAt: iso(a.createdAt),
      completedAt: iso(a.completedAt),
    };
  }

  private mapDocument(r: ProjectDocumentRow): ProjectDocumentDto {
    return {
      id: r.id,
      projectId: r.project_id,
      taskId: r.task_id,
      activationId: r.activation_id,
      kind: r.kind,
      version: r.version,
      title: r.title,
      format: r.format,
      createdBy: r.created_by,
      createdAt: iso(r.created_at),
    };
  }

  private typeOf(agentType: string): AgentType {
    if (!(AGENT_TYPES as readonly string[]).includes(agentType)) {
      throw new AppError(
        AppError.notFound('agent', agentType).code,
        `Unknown agent type ${agentType}; one of ${AGENT_TYPES.join(', ')}`,
        {
          resource: 'agent',
          id: agentType,
        },
      );
    }
    return agentType as AgentType;
  }

  /** From the recent history of this agent and provider; a per-step default before there is any. */
  private readonly estimates = new Map<string, { seconds: number; at: number }>();

  private async estimateSeconds(type: AgentType, provider: ProviderName, steps: number): Promise<number> {
    const key = `${type}:${provider}`;
    const cached = this.estimates.get(key);
    if (cached && Date.now() - cached.at < 10_000) return cached.seconds;
    const avg = await this.activations.recentAverageMs(type, provider);
    const seconds = avg ? Math.ceil(Number(avg) / 1000) : steps * DEFAULT_STEP_SECONDS[provider];
    this.estimates.set(key, { seconds, at: Date.now() });
    return seconds;
  }
}
