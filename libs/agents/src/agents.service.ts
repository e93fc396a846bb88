import { Injectable } from '@nestjs/common';
import {
  AppConfig,
  AppError,
  Conditions,
  iso,
  newId,
  OutboxService,
  Page,
  pageClause,
  pageOf,
  Principal,
  Sql,
  UnitOfWork,
} from '@app/core';
import { ProjectAccessService } from '@app/projects';
import { TasksService } from '@app/tasks';
import { AGENTS } from './agent-definitions';
import { AgentActivationEntity, StepState } from './agent-activation.entity';
import { AgentEvents } from './agent-events.service';
import { ACTIVATION_PERMISSION } from './agent-permissions';
import { AGENT_ACTIVATORS, AGENT_TYPES, AgentType, TERMINAL_STATUSES } from './agent-types';
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
} from './agent.dto';
import { Providers } from './providers/providers';

/** Seconds a step takes when there is no history yet, per provider. */
const DEFAULT_STEP_SECONDS = { anthropic: 20, template: 1 };

@Injectable()
export class AgentsService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly sql: Sql,
    private readonly tasks: TasksService,
    private readonly access: ProjectAccessService,
    private readonly outbox: OutboxService,
    private readonly events: AgentEvents,
    private readonly providers: Providers,
    private readonly config: AppConfig,
  ) {}

  definitions(actor: Principal): AgentInfoDto[] {
    return AGENT_TYPES.map((type) => ({
      type,
      name: AGENTS[type].title,
      description: AGENTS[type].description,
      steps: AGENTS[type].steps.map((s) => ({ name: s.name, key: s.key, instruction: s.instruction })),
      activatedBy: ['admin', AGENT_ACTIVATORS[type]],
      canActivate: actor.can(ACTIVATION_PERMISSION[type]),
    }));
  }

  async activate(actor: Principal, agentType: string, dto: ActivateAgentDto): Promise<ActivationAcceptedDto> {
    const type = this.typeOf(agentType);
    if (!actor.can(ACTIVATION_PERMISSION[type])) {
      throw AppError.forbidden(`Only ${AGENT_ACTIVATORS[type]} (or admin) may activate the ${type} agent`, {
        required: ACTIVATION_PERMISSION[type],
      });
    }
    const task = await this.tasks.get(actor, dto.taskId); // 404 when missing or invisible
    const provider = this.providers.nameFor(dto.config?.model);
    const estimate = await this.estimateSeconds(type, provider);
    const id = newId('activation');
    const steps: StepState[] = AGENTS[type].steps.map((s) => ({
      key: s.key,
      name: s.name,
      status: 'pending',
      progress: 0,
      startedAt: null,
      completedAt: null,
    }));
    const estimatedCompletionAt = new Date(Date.now() + estimate * 1000);
    await this.uow.run(async (tx) => {
      // Activating writes to the project: a member whose role may activate this agent.
      await this.access.writable(actor, task.projectId, ACTIVATION_PERMISSION[type], tx.manager);
      await tx.manager.query(
        `INSERT INTO agent_activations (id, agent_type, task_id, project_id, requested_by, status, input, config,
                                        notify_on_complete, provider, steps, estimated_completion_at)
         VALUES ($1, $2, $3, $4, $5, 'queued', $6, $7, $8, $9, $10, $11)`,
        [
          id,
          type,
          task.id,
          task.projectId,
          actor.userId,
          JSON.stringify(dto.input),
          JSON.stringify(dto.config ?? {}),
          dto.notifyOnComplete ?? true,
          provider,
          JSON.stringify(steps),
          estimatedCompletionAt,
        ],
      );
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
    if (query.taskId) {
      const task = await this.tasks.get(actor, query.taskId);
      where.and((v) => `a.task_id = ${v(task.id)}`);
    }
    if (query.agentType) where.and((v) => `a.agent_type = ${v(query.agentType)}`);
    if (query.status) where.and((v) => `a.status = ${v(query.status)}`);
    const { rows, total } = await this.sql.page<Record<string, never>>(
      `a.id, a.agent_type, a.task_id, a.project_id, a.status, a.progress, a.current_step, a.requested_by, a.provider,
       a.error, a.created_at, a.completed_at`,
      'FROM agent_activations a JOIN projects p ON p.id = a.project_id',
      where,
      pageClause(query, 'a.created_at', 'a.id'),
    );
    return pageOf(
      rows.map((r: Record<string, never>) => ({
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
        createdAt: iso(r.created_at as Date),
        completedAt: iso(r.completed_at as Date | null),
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
      metrics: { executionTime: a.executionMs, tokensUsed: a.tokensUsed, model: a.modelUsed },
      completedAt: iso(a.completedAt),
      ...(a.status === 'completed' ? {} : { error: a.error }),
    };
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

  /** Queued: cancelled at once. Processing: stops between steps (or aborts the model call in flight). */
  async cancel(actor: Principal, activationId: string): Promise<ActivationSummaryDto> {
    const a = await this.visible(actor, activationId);
    await this.access.writable(actor, a.projectId, ACTIVATION_PERMISSION[a.agentType]);
    const [updated]: [Array<{ status: string }>, number] = await this.uow.run((tx) =>
      tx.manager.query(
        `UPDATE agent_activations
            SET cancel_requested = true,
                status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
                completed_at = CASE WHEN status = 'queued' THEN now() ELSE completed_at END,
                updated_at = now()
          WHERE id = $1 AND status IN ('queued', 'processing') RETURNING status`,
        [a.id],
      ),
    );
    if (!updated.length)
      throw AppError.conflict(`The activation is already ${a.status}`, { status: a.status });
    if (updated[0].status === 'cancelled')
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
    const where = new Conditions().and((v) => `project_id = ${v(project.id)}`);
    if (query.kind) where.and((v) => `kind = ${v(query.kind)}`);
    const { rows, total } = await this.sql.page<Record<string, never>>(
      'id, project_id, task_id, activation_id, kind, title, format, created_by, created_at',
      'FROM project_documents',
      where,
      pageClause(query, 'created_at', 'id'),
    );
    return pageOf(
      rows.map((r) => this.mapDocument(r)),
      total,
      query,
    );
  }

  async document(actor: Principal, projectId: string, documentId: string): Promise<ProjectDocumentDto> {
    const { project } = await this.access.readable(actor, projectId);
    const [row] = await this.sql.rows<Record<string, never>>(
      `SELECT * FROM project_documents WHERE id = $1 AND project_id = $2`,
      [documentId, project.id],
    );
    if (!row) throw AppError.notFound('document', documentId);
    return { ...this.mapDocument(row), content: row.content };
  }

  /** The activation if the caller may see its project; 404 otherwise. */
  async visible(actor: Principal, activationId: string): Promise<AgentActivationEntity> {
    const [row] = await this.sql.rows<AgentActivationEntity>(
      `SELECT id, agent_type AS "agentType", task_id AS "taskId", project_id AS "projectId", requested_by AS "requestedBy", status,
              steps, progress, current_step AS "currentStep", intermediate_results AS "intermediateResults", output, files, error,
              tokens_used AS "tokensUsed", model_used AS "modelUsed", execution_ms AS "executionMs", provider,
              created_at AS "createdAt", completed_at AS "completedAt"
         FROM agent_activations WHERE id = $1`,
      [activationId],
    );
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

  private mapDocument(r: Record<string, never>): ProjectDocumentDto {
    return {
      id: r.id,
      projectId: r.project_id,
      taskId: r.task_id,
      activationId: r.activation_id,
      kind: r.kind,
      title: r.title,
      format: r.format,
      createdBy: r.created_by,
      createdAt: iso(r.created_at as Date),
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

  private async estimateSeconds(type: AgentType, provider: 'anthropic' | 'template'): Promise<number> {
    const key = `${type}:${provider}`;
    const cached = this.estimates.get(key);
    if (cached && Date.now() - cached.at < 10_000) return cached.seconds;
    const seconds = await this.computeEstimate(type, provider);
    this.estimates.set(key, { seconds, at: Date.now() });
    return seconds;
  }

  private async computeEstimate(type: AgentType, provider: 'anthropic' | 'template'): Promise<number> {
    const [row] = await this.sql.rows<{ avg: string | null }>(
      `SELECT avg(execution_ms) AS avg FROM (SELECT execution_ms FROM agent_activations
        WHERE agent_type = $1 AND provider = $2 AND status = 'completed' ORDER BY completed_at DESC LIMIT 20) recent`,
      [type, provider],
    );
    return row.avg
      ? Math.ceil(Number(row.avg) / 1000)
      : AGENTS[type].steps.length * DEFAULT_STEP_SECONDS[provider];
  }
}
