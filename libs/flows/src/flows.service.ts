import { Injectable } from '@nestjs/common';
import {
  ACTIVATION_PERMISSION,
  AGENT_ACTIVATORS,
  AgentsService,
  AgentType,
  CODE_AGENTS,
  FlowActivationRow,
  isCodeAgent,
  onBehalfOf,
} from '@app/agents';
import {
  AppError,
  Conditions,
  iso,
  newId,
  OutboxService,
  Page,
  pageOf,
  Permission,
  Principal,
  Tx,
  UnitOfWork,
} from '@app/core';
import { ApplicationsService, DeploymentsService } from '@app/deployments';
import { ProjectAccessService } from '@app/projects';
import { TasksService } from '@app/tasks';
import { FINISHED_FLOW_STATUSES, FlowStage, FlowStatus } from './flow.entity';
import {
  DEFAULT_GATES,
  DEFAULT_STAGES,
  DeployToDto,
  FlowCommentDto,
  FlowDto,
  FlowStageDto,
  ListFlowsQueryDto,
  StartFlowDto,
} from './flow.dto';
import { FlowEngine } from './flow-engine.service';
import { FlowEvents, FlowStreamItem } from './flow-events.service';
import { flowChanges, orderStages, stepAt } from './flow-stages';
import { FlowRow, FlowsRepository, FlowState } from './flows.repository';

/**
 * Flows as the API drives them: a task taken through the agents in order (start), read, followed
 * (its event stream), stopped at its gates (approve, reject, run the stage again), cancelled. What
 * moves a flow on is FlowEngine's, in the worker.
 */
@Injectable()
export class FlowsService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly flows: FlowsRepository,
    private readonly engine: FlowEngine,
    private readonly events: FlowEvents,
    private readonly agents: AgentsService,
    private readonly deployments: DeploymentsService,
    private readonly applications: ApplicationsService,
    private readonly tasks: TasksService,
    private readonly access: ProjectAccessService,
    private readonly outbox: OutboxService,
  ) {}

  // ---- the API -----------------------------------------------------------------------------------

  async start(actor: Principal, taskId: string, dto: StartFlowDto): Promise<FlowDto> {
    const task = await this.tasks.get(actor, taskId);
    const listed = dto.stages ?? DEFAULT_STAGES;
    if (new Set(listed).size !== listed.length)
      throw AppError.validation([
        { field: 'stages', message: 'a stage may be listed once', code: 'invalid' },
      ]);
    const stages = orderStages(listed);
    const gates = [
      ...new Set(dto.gates ?? DEFAULT_GATES.filter((g) => g === 'merge' || stages.includes(g as AgentType))),
    ];
    const unknown = gates.filter((g) => g !== 'merge' && !stages.includes(g as AgentType));
    if (unknown.length)
      throw AppError.validation([
        {
          field: 'gates',
          message: `gates must name stages of this flow or merge (${unknown.join(', ')})`,
          code: 'invalid',
        },
      ]);
    // The first step's agents (backend and frontend together when both come first).
    for (const i of stepAt(
      stages.map((name) => ({ name })),
      0,
    )) {
      const first = stages[i];
      if (!actor.can(ACTIVATION_PERMISSION[first]))
        throw AppError.forbidden(
          `Starting this flow activates the ${first} agent: ${AGENT_ACTIVATORS[first]} (or admin) only`,
          { required: ACTIVATION_PERMISSION[first] },
        );
    }
    if (dto.deployTo)
      await this.admitDeployTo(actor, task.projectId, stages, gates, dto.deployTo, dto.config?.provider);
    const id = newId('flow');
    await this.uow.run(async (tx) => {
      await this.access.writable(actor, task.projectId, ACTIVATION_PERMISSION[stages[0]], tx.manager);
      await this.flows.insert(tx.manager, {
        id,
        projectId: task.projectId,
        taskId: task.id,
        stages: stages.map((name) => emptyStage(name)),
        gates,
        config: (dto.config ?? {}) as Record<string, unknown>,
        deployTo: dto.deployTo ? { ...dto.deployTo } : null,
        createdBy: actor.userId,
      });
      await this.events.append(tx, id, 'flow', { status: 'running', stages, gates, by: actor.userId });
      await this.outbox.enqueue(tx, 'flow.advance', { flowId: id });
    });
    await this.engine.followTask(actor, { id, taskId: task.id }, 'in_progress');
    return this.get(actor, id);
  }

  /**
   * A flow deploys what it merged: it needs a code stage, an application of the task's project,
   * and a deployment the module would take (prod: its approvers). The platform requests it for
   * the creator once a person approved the merge gate; without that gate nobody reviews the
   * change, so the creator must be one who may deploy (devops, admin).
   */
  private async admitDeployTo(
    actor: Principal,
    projectId: string,
    stages: AgentType[],
    gates: string[],
    to: DeployToDto,
    provider: string | undefined,
  ): Promise<void> {
    if (!stages.some((s) => isCodeAgent(s)))
      throw AppError.validation([
        {
          field: 'deployTo',
          message: `deployTo needs a code stage (${CODE_AGENTS.join(', ')}): a flow deploys the change it merged`,
          code: 'invalid',
        },
      ]);
    const { project } = await this.access.readable(actor, projectId);
    if (!project.repositoryUrl || provider === 'anthropic')
      throw AppError.validation([
        {
          field: 'deployTo',
          message: project.repositoryUrl
            ? 'deployTo needs code stages that change the repository: config.provider anthropic writes plans only'
            : "deployTo needs the project's repository: without one the code stages write plans and nothing is merged",
          code: 'invalid',
        },
      ]);
    const app = await this.applications.get(actor, to.applicationId);
    if (app.projectId !== projectId)
      throw AppError.validation([
        {
          field: 'deployTo.applicationId',
          message: "deployTo.applicationId must be an application of the task's project",
          code: 'invalid',
        },
      ]);
    const mayDeploy = actor.can(Permission.DeploymentsWrite);
    if (!mayDeploy && !gates.includes('merge'))
      throw AppError.forbidden(
        'Without the merge gate nobody reviews what the flow deploys: deployTo then needs deployments:write (devops or admin)',
        { required: Permission.DeploymentsWrite },
      );
    await this.deployments.assertCreatable(mayDeploy ? actor : onBehalfOf(actor), {
      applicationId: to.applicationId,
      environment: to.environment,
      approvals: to.approvals,
    });
  }

  async get(actor: Principal, flowId: string): Promise<FlowDto> {
    const f = await this.visible(actor, flowId);
    return mapFlow(f, await this.agents.flowActivations([f.id]));
  }

  async list(actor: Principal, query: ListFlowsQueryDto): Promise<Page<FlowDto>> {
    const where = this.access.restrictToVisible(new Conditions(), actor);
    const taskId = query.taskId ? (await this.tasks.get(actor, query.taskId)).id : undefined;
    const { rows, total } = await this.flows.page(where, { taskId, status: query.status }, query);
    const activations = rows.length ? await this.agents.flowActivations(rows.map((r) => r.id)) : [];
    return pageOf(
      rows.map((r) => mapFlow(r, activations)),
      total,
      query,
    );
  }

  /**
   * The flow's events after `after` (Last-Event-ID), then as they happen, until it ends: its own
   * (`stage`, `gate`, `merge`, `deployment`, `flow.<status>`) and its stages' activations'
   * (`progress`, `log`, `step`, ...) with their stage, in one order.
   */
  async stream(
    actor: Principal,
    flowId: string,
    after: number,
  ): Promise<(signal: AbortSignal) => AsyncIterable<FlowStreamItem>> {
    const f = await this.visible(actor, flowId);
    let stages = f.stages;
    const stageOf = async (activationId: string) => {
      let stage = stages.find((s) => s.activationId === activationId);
      if (!stage) {
        stages = (await this.flows.find(f.id))?.stages ?? stages;
        stage = stages.find((s) => s.activationId === activationId);
      }
      return stage?.name;
    };
    return (signal) => this.events.stream(f.id, String(after), signal, stageOf);
  }

  /**
   * Approves the gate the flow waits at: the role of the stage that comes next (changes:write
   * for the merge gate) and membership. The comment reaches the next stage's prompt.
   */
  async approve(actor: Principal, flowId: string, dto: FlowCommentDto): Promise<FlowDto> {
    await this.uow.run(async (tx) => {
      const f = await this.atGate(tx, actor, flowId);
      const comment = dto.comment?.trim() || null;
      const next: FlowState = { ...f, gate: null, status: 'running', feedback: comment };
      if (f.gate !== 'merge') next.current = f.current + stepAt(f.stages, f.current).length;
      else next.mergeApproved = true;
      await this.flows.save(tx.manager, f.id, next);
      await this.events.append(tx, f.id, 'gate', {
        gate: f.gate,
        status: 'approved',
        by: actor.userId,
        comment,
      });
      await this.outbox.enqueue(tx, 'flow.advance', { flowId: f.id });
    });
    return this.get(actor, flowId);
  }

  /**
   * Runs the stage at hand again with the comment as feedback: the stage a gate waits after, or
   * the stage a failed flow stopped at. Needs the role of that stage's agent and membership.
   */
  async retryStage(actor: Principal, flowId: string, dto: FlowCommentDto): Promise<FlowDto> {
    await this.uow.run(async (tx) => {
      const f = await this.visible(actor, flowId, tx);
      const atStageGate = f.status === 'awaiting_approval' && f.gate !== 'merge';
      const failedStage = f.status === 'failed' && f.current < f.stages.length;
      if (!atStageGate && !failedStage)
        throw AppError.conflict(
          `Only a stage a gate waits after, or the stage a failed flow stopped at, can be run again (the flow is ${f.status}${f.gate ? ` at the ${f.gate} gate` : ''})`,
          { status: f.status, gate: f.gate },
        );
      const stage = f.stages[f.current];
      const needed = ACTIVATION_PERMISSION[stage.name as AgentType];
      if (!actor.can(needed))
        throw AppError.forbidden(
          `The ${stage.name} stage is run by ${AGENT_ACTIVATORS[stage.name as AgentType]} (or admin)`,
          {
            required: needed,
          },
        );
      await this.access.writable(actor, f.projectId, needed, tx.manager);
      // The whole step after its gate; only the stages that did not complete where it failed.
      const stages = [...f.stages];
      for (const i of stepAt(f.stages, f.current))
        if (atStageGate || stages[i].status !== 'completed') stages[i] = emptyStage(stages[i].name);
      const comment = dto.comment?.trim() || null;
      if (atStageGate)
        await this.events.append(tx, f.id, 'gate', {
          gate: f.gate,
          status: 'retried',
          by: actor.userId,
          comment,
        });
      else {
        await this.events.append(tx, f.id, 'flow', { status: 'running', by: actor.userId });
        await this.events.append(tx, f.id, 'stage', {
          stage: stage.name,
          status: 'retried',
          by: actor.userId,
          comment,
        });
      }
      await this.flows.save(tx.manager, f.id, {
        ...f,
        stages,
        status: 'running',
        gate: null,
        error: null,
        feedback: dto.comment?.trim() || null,
      });
      await this.outbox.enqueue(tx, 'flow.advance', { flowId: f.id });
    });
    return this.get(actor, flowId);
  }

  /** Rejects the gate: the flow ends `rejected` (the change stays open for a person). */
  async reject(actor: Principal, flowId: string, dto: FlowCommentDto): Promise<FlowDto> {
    await this.uow.run(async (tx) => {
      const f = await this.atGate(tx, actor, flowId);
      const reason = `Rejected at the ${f.gate} gate${dto.comment?.trim() ? `: ${dto.comment.trim()}` : ''}`;
      await this.flows.save(tx.manager, f.id, { ...f, gate: null, status: 'rejected', error: reason });
      await this.events.append(tx, f.id, 'gate', { gate: f.gate, status: 'rejected', by: actor.userId });
      await this.events.append(tx, f.id, 'flow', { status: 'rejected', error: reason });
      await this.engine.publish(tx, f, 'flow.failed', { status: 'rejected', error: reason });
    });
    return this.get(actor, flowId);
  }

  /**
   * Cancels a flow that has not ended (its creator, or one who may change the project's tasks),
   * and what it runs: its activations (and so their builds),
   * and its deployment while that has not started (one under way runs to its end).
   */
  async cancel(actor: Principal, flowId: string): Promise<FlowDto> {
    let running: string[] = [];
    let deploymentId: string | null = null;
    await this.uow.run(async (tx) => {
      const f = await this.visible(actor, flowId, tx);
      // Its creator may stop it as they started it; others need to be able to change tasks.
      const own = f.createdBy === actor.userId && f.stages[0]?.name;
      await this.access.writable(
        actor,
        f.projectId,
        own ? ACTIVATION_PERMISSION[own as AgentType] : Permission.TasksWrite,
        tx.manager,
      );
      if (FINISHED_FLOW_STATUSES.includes(f.status))
        throw AppError.conflict(`The flow is already ${f.status}`, { status: f.status });
      const stages = f.stages.map((s) =>
        s.status === 'running' || s.status === 'pending' ? { ...s, status: 'cancelled' as const } : s,
      );
      running = f.stages.filter((s) => s.status === 'running' && s.activationId).map((s) => s.activationId!);
      deploymentId = f.deployment?.deploymentId ?? null;
      await this.flows.save(tx.manager, f.id, { ...f, stages, gate: null, status: 'cancelled', error: null });
      await this.events.append(tx, f.id, 'flow', { status: 'cancelled', by: actor.userId });
    });
    await Promise.all(running.map((id) => this.agents.cancelForFlow(id)));
    if (deploymentId) await this.deployments.withdraw(deploymentId, `the flow ${flowId} was cancelled`);
    return this.get(actor, flowId);
  }

  /** The flow waiting at a gate, if the caller may approve it: the next stage's role, membership. */
  private async atGate(tx: Tx, actor: Principal, flowId: string): Promise<FlowRow> {
    const f = await this.visible(actor, flowId, tx);
    if (f.status !== 'awaiting_approval' || !f.gate)
      throw AppError.conflict(`The flow is ${f.status}, not awaiting approval`, { status: f.status });
    // The next step's agents (backend and frontend together): their roles approve.
    const next =
      f.gate === 'merge'
        ? []
        : stepAt(f.stages, f.current + stepAt(f.stages, f.current).length).map(
            (i) => f.stages[i].name as AgentType,
          );
    const needed = next.length ? next.map((n) => ACTIVATION_PERMISSION[n]) : [Permission.ChangesWrite];
    const missing = next.find((n) => !actor.can(ACTIVATION_PERMISSION[n]));
    if (missing || !actor.can(needed[0]))
      throw AppError.forbidden(
        missing
          ? `The next stage is the ${missing} agent: ${AGENT_ACTIVATORS[missing]} (or admin) approves this gate`
          : 'The merge gate is approved by those who may merge (developer, architect, admin)',
        { required: missing ? ACTIVATION_PERMISSION[missing] : needed[0] },
      );
    for (const permission of needed) await this.access.writable(actor, f.projectId, permission, tx.manager);
    return f;
  }

  private async visible(actor: Principal, flowId: string, tx?: Tx): Promise<FlowRow> {
    const f = await this.flows.find(flowId, tx?.manager, Boolean(tx));
    if (!f) throw AppError.notFound('flow', flowId);
    await this.access.readable(actor, f.projectId, tx?.manager).catch(() => {
      throw AppError.notFound('flow', flowId);
    });
    return f;
  }
}

function emptyStage(name: string): FlowStage {
  return {
    name,
    status: 'pending',
    activationId: null,
    changeId: null,
    feedback: null,
    startedAt: null,
    completedAt: null,
    error: null,
  };
}

export function mapFlow(f: FlowRow, activations: FlowActivationRow[]): FlowDto {
  const byId = new Map(activations.map((a) => [a.id, a]));
  const stages: FlowStageDto[] = f.stages.map((s) => {
    const a = s.activationId ? byId.get(s.activationId) : undefined;
    const change = a?.change ?? null;
    return {
      ...s,
      documents: a?.read ?? [],
      document: a?.written ?? null,
      build: change?.buildId ? { buildId: change.buildId, status: change.buildStatus ?? null } : null,
      costUsd: a?.costUsd ?? 0,
    };
  });
  // Every activation the flow made (stages run again included) counts toward its cost.
  const costUsd = activations.filter((a) => a.flowId === f.id).reduce((sum, a) => sum + a.costUsd, 0);
  return {
    flowId: f.id,
    projectId: f.projectId,
    taskId: f.taskId,
    status: f.status as FlowStatus,
    stages,
    gate: f.gate,
    gates: f.gates,
    changeId: f.changeId,
    changeIds: flowChanges(f.stages),
    deployTo: f.deployTo,
    deployment: f.deployment,
    costUsd: Math.round(costUsd * 1e6) / 1e6,
    error: f.error,
    createdBy: f.createdBy,
    createdAt: iso(f.createdAt)!,
    updatedAt: iso(f.updatedAt)!,
    completedAt: iso(f.completedAt),
    progressUrl: `/v2/flows/${f.id}`,
  };
}
