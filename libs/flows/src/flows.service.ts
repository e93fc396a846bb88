import { Injectable, Logger } from '@nestjs/common';
import {
  ACTIVATION_PERMISSION,
  actingFor,
  AGENT_ACTIVATORS,
  AgentsService,
  AgentType,
  CODE_AGENTS,
  FlowActivationRow,
  isCodeAgent,
  onBehalfOf,
} from '@app/agents';
import { ChangesService } from '@app/changes';
import {
  AppConfig,
  AppError,
  Conditions,
  DomainEventListeners,
  iso,
  newId,
  OutboxService,
  Page,
  pageOf,
  Permission,
  Principal,
  QueueName,
  QueueRegistry,
  Semaphore,
  Tx,
  UnitOfWork,
} from '@app/core';
import { ApplicationsService, DeploymentDto, DeploymentsService } from '@app/deployments';
import { ProjectAccessService } from '@app/projects';
import { TASK_STATUSES, TasksService, TaskStatus } from '@app/tasks';
import { UsersService } from '@app/users';
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
import { FlowEvents, FlowStreamItem } from './flow-events.service';
import { flowChanges, orderStages, stepAt } from './flow-stages';
import { FlowRow, FlowsRepository, FlowState } from './flows.repository';

/**
 * How often a merge or a deployment under way is looked at again: their domain events move the
 * flow on at once; this is for what an event cannot say (a merge that failed, approvals given).
 */
const MERGE_POLL_MS = 3000;
const DEPLOY_POLL_MS = 3000;
/** A running flow untouched this long is advanced by the sweep (its job may be lost). */
const IDLE_MS = 10_000;

/**
 * Flows: a task taken through the agents in order. Each stage is an activation (made by the
 * platform for the flow's creator); a gate stops the flow until a person approves (their comment
 * reaches the next stage) or rejects it; after the last stage and the `merge` gate the flow's
 * change is merged. The state lives in the row; `flow.advance` jobs (an activation's end, an
 * approval, the sweep) move it on under its row lock, so two workers never drive one flow and a
 * lost job or a dead worker loses nothing.
 */
@Injectable()
export class FlowsService {
  private readonly logger = new Logger(FlowsService.name);
  private sweeper: NodeJS.Timeout | null = null;
  private listening = false;
  private readonly moving: Semaphore;

  constructor(
    private readonly uow: UnitOfWork,
    private readonly flows: FlowsRepository,
    private readonly agents: AgentsService,
    private readonly changes: ChangesService,
    private readonly deployments: DeploymentsService,
    private readonly applications: ApplicationsService,
    private readonly events: FlowEvents,
    private readonly tasks: TasksService,
    private readonly users: UsersService,
    private readonly access: ProjectAccessService,
    private readonly outbox: OutboxService,
    private readonly listeners: DomainEventListeners,
    private readonly queues: QueueRegistry,
    config: AppConfig,
  ) {
    this.moving = new Semaphore(Math.max(1, Math.floor(config.database.poolSize / 4)));
  }

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
    await this.followTask(actor, { id, taskId: task.id }, 'in_progress');
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
      await this.save(tx, f.id, next);
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
      await this.save(tx, f.id, {
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
      await this.save(tx, f.id, { ...f, gate: null, status: 'rejected', error: reason });
      await this.events.append(tx, f.id, 'gate', { gate: f.gate, status: 'rejected', by: actor.userId });
      await this.events.append(tx, f.id, 'flow', { status: 'rejected', error: reason });
      await this.publish(tx, f, 'flow.failed', { status: 'rejected', error: reason });
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
      await this.save(tx, f.id, { ...f, stages, gate: null, status: 'cancelled', error: null });
      await this.events.append(tx, f.id, 'flow', { status: 'cancelled', by: actor.userId });
    });
    await Promise.all(running.map((id) => this.agents.cancelForFlow(id)));
    if (deploymentId) await this.deployments.withdraw(deploymentId, `the flow ${flowId} was cancelled`);
    return this.get(actor, flowId);
  }

  // ---- the worker's side -------------------------------------------------------------------------

  /**
   * In the worker: moves a flow on as soon as the change it merges is merged or its deployment
   * ends (the domain events), and advances running flows whose job may have been lost (the sweep,
   * which also catches what an event missed, such as a merge that failed).
   */
  startSweeping(): void {
    if (!this.listening) {
      this.listening = true;
      this.listeners.on(['change.merged', 'deployment.success', 'deployment.failed'], async (event) => {
        const changeId = (event.data.change as { id?: string } | undefined)?.id;
        const deploymentId = (event.data.deployment as { deploymentId?: string } | undefined)?.deploymentId;
        for (const f of await this.flows.waitingOn({ changeId, deploymentId }))
          await this.queues.get(QueueName.Agents).add('flow.advance', { flowId: f.id });
      });
    }
    this.sweeper ??= setInterval(() => {
      void this.flows.idle(IDLE_MS).then(
        (rows) =>
          Promise.all(
            rows.map((r) => this.queues.get(QueueName.Agents).add('flow.advance', { flowId: r.id })),
          ),
        (err: Error) => this.logger.warn(`flow sweep failed: ${err.message}`),
      );
    }, IDLE_MS / 2);
    this.sweeper.unref();
  }

  stopSweeping(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
  }

  /**
   * Moves the flow on as far as it can go now (idempotent). A move holds the flow's row lock (one
   * pooled connection) while it reads and starts work through others: at most a quarter of the
   * pool's connections move flows at once, or a burst of flows would hold them all and wait for
   * more (found by bench/flows.js: 50 flows at once timed out on the pool).
   */
  async advance(flowId: string): Promise<void> {
    await this.moving.with(async () => {
      for (let i = 0; i < 50; i++) {
        const again = await this.uow.run((tx) => this.step(tx, flowId));
        if (!again) return;
      }
    });
  }

  /** One move under the row lock; true when another may follow at once. */
  private async step(tx: Tx, flowId: string): Promise<boolean> {
    const f = await this.flows.find(flowId, tx.manager, true);
    if (!f || f.status !== 'running') return false;
    const creator = await this.creator(f);
    if (!creator) return this.fail(tx, f, 'The user who started the flow is no longer active');
    if (f.current < f.stages.length) return this.moveStep(tx, f, creator);
    return this.land(tx, f, creator);
  }

  /**
   * The step at hand (one stage, or backend and frontend side by side): starts its stages, waits
   * for their activations, then stops at its gate or goes on. A stage that fails stops its
   * sibling and the flow.
   */
  private async moveStep(tx: Tx, f: FlowRow, creator: Principal): Promise<boolean> {
    const step = stepAt(f.stages, f.current);
    const stages = [...f.stages];
    const pending = step.filter((i) => stages[i].status === 'pending');
    if (pending.length) {
      const startedAt = new Date().toISOString();
      for (const i of pending) {
        stages[i] = {
          ...stages[i],
          status: 'running',
          activationId: newId('activation'),
          feedback: f.feedback,
          startedAt,
        };
        await this.events.append(tx, f.id, 'stage', {
          stage: stages[i].name,
          status: 'running',
          activationId: stages[i].activationId,
        });
      }
      await this.save(tx, f.id, { ...f, stages, feedback: null });
      // The activations are made by the next move, after this commits; a crash between leaves the
      // stages running with ids no activation has: that move makes them then.
      await this.outbox.enqueue(tx, 'flow.advance', { flowId: f.id });
      return false;
    }
    let waiting = false;
    let changed = false;
    for (const i of step) {
      const stage = stages[i];
      if (stage.status !== 'running' || !stage.activationId) continue;
      const a = await this.agents.stateOf(stage.activationId);
      if (!a) {
        try {
          await this.startStage(f, stage, creator);
          waiting = true;
          continue;
        } catch (err) {
          stages[i] = { ...stage, status: 'failed', error: (err as Error).message };
          return this.failStep(
            tx,
            { ...f, stages },
            step,
            `The ${stage.name} stage could not start: ${(err as Error).message}`,
          );
        }
      }
      if (a.status === 'queued' || a.status === 'processing') {
        waiting = true;
        continue;
      }
      const changeId = (a.output?.change as { changeId?: string } | null | undefined)?.changeId ?? null;
      const ok = a.status === 'completed';
      stages[i] = {
        ...stage,
        status: ok ? 'completed' : a.status === 'cancelled' ? 'cancelled' : 'failed',
        error: ok ? null : a.error,
        completedAt: new Date().toISOString(),
        changeId,
      };
      changed = true;
      await this.events.append(tx, f.id, 'stage', {
        stage: stage.name,
        status: stages[i].status,
        activationId: stage.activationId,
        ...(changeId ? { changeId } : {}),
        ...(ok ? {} : { error: a.error }),
      });
    }
    const next: FlowRow = { ...f, stages, changeId: f.changeId ?? flowChanges(stages)[0] ?? null };
    const failed = step.map((i) => stages[i]).find((s) => s.status === 'failed' || s.status === 'cancelled');
    if (failed)
      return this.failStep(
        tx,
        next,
        step,
        `The ${failed.name} stage ended ${failed.status}${failed.error ? `: ${failed.error}` : ''}`,
      );
    if (waiting) {
      if (changed) await this.save(tx, f.id, next);
      return false;
    }
    const gate = step.map((i) => stages[i].name).find((name) => f.gates.includes(name));
    if (gate) {
      await this.save(tx, f.id, { ...next, status: 'awaiting_approval', gate });
      await this.events.append(tx, f.id, 'gate', { gate, status: 'awaiting' });
      await this.publish(tx, f, 'flow.awaiting_approval', { gate });
      return false;
    }
    await this.save(tx, f.id, { ...next, current: f.current + step.length });
    return true;
  }

  /** A stage of the step failed: its siblings still running are cancelled, and the flow fails. */
  private async failStep(tx: Tx, f: FlowRow, step: number[], reason: string): Promise<false> {
    const stages = [...f.stages];
    for (const i of step) {
      const s = stages[i];
      if (s.status !== 'running') continue;
      stages[i] = { ...s, status: 'cancelled', completedAt: new Date().toISOString() };
      if (s.activationId) {
        const id = s.activationId;
        tx.afterCommit(() => this.agents.cancelForFlow(id));
      }
    }
    return this.fail(tx, { ...f, stages }, reason);
  }

  /**
   * Past the last stage: the merge gate, then each of the flow's changes merged in turn (the
   * task is done), then with deployTo a deployment of the merged commit, followed to its end.
   */
  private async land(tx: Tx, f: FlowRow, creator: Principal): Promise<boolean> {
    const changeIds = flowChanges(f.stages);
    if (changeIds.length && f.gates.includes('merge') && !f.mergeApproved) {
      await this.save(tx, f.id, { ...f, status: 'awaiting_approval', gate: 'merge' });
      await this.events.append(tx, f.id, 'gate', { gate: 'merge', status: 'awaiting', changeIds });
      await this.publish(tx, f, 'flow.awaiting_approval', {
        gate: 'merge',
        changeId: changeIds[0],
        changeIds,
      });
      await this.followTask(creator, f, 'review');
      return false;
    }
    let mergeSha: string | null = null;
    for (const changeId of changeIds) {
      const change = await this.changes.get(creator, changeId).catch(() => null);
      if (!change) return this.fail(tx, f, `The change ${changeId} is gone`);
      if (change.status === 'merged') {
        mergeSha = change.mergeSha;
        if (f.mergingChangeId === changeId) {
          await this.events.append(tx, f.id, 'merge', { changeId, status: 'merged', mergeSha });
          await this.save(tx, f.id, { ...f, mergingChangeId: null });
          return true;
        }
        continue;
      }
      if (change.status !== 'open') return this.fail(tx, f, `The change ${changeId} was ${change.status}`);
      if (f.mergingChangeId !== changeId) {
        try {
          await this.changes.merge(onBehalfOf(creator), changeId, {});
        } catch (err) {
          return this.fail(tx, f, `The change ${changeId} could not be merged: ${(err as Error).message}`);
        }
        await this.save(tx, f.id, { ...f, mergingChangeId: changeId });
        await this.events.append(tx, f.id, 'merge', { changeId, status: 'requested' });
      } else if (change.mergeError && !change.mergeRequestedAt) {
        return this.fail(tx, f, `The merge of ${changeId} failed: ${change.mergeError}`);
      }
      await this.later(f.id, MERGE_POLL_MS);
      return false;
    }
    if (changeIds.length && !f.deployment) await this.followTask(creator, f, 'done');
    if (!f.deployTo) return this.complete(tx, f);
    return this.deploy(tx, f, creator, mergeSha);
  }

  /** Creates the deployment of the merged commit (once), then follows it to its end. */
  private async deploy(tx: Tx, f: FlowRow, creator: Principal, mergeSha: string | null): Promise<boolean> {
    const to = f.deployTo!;
    if (!f.deployment) {
      if (!mergeSha) return this.fail(tx, f, 'Nothing was merged to deploy: no stage opened a change');
      let created: DeploymentDto;
      try {
        created = await this.deployments.create(onBehalfOf(creator), {
          applicationId: to.applicationId,
          environment: to.environment,
          version: mergeSha.slice(0, 12),
          approvals: to.approvals,
        });
      } catch (err) {
        return this.fail(tx, f, `The deployment could not be created: ${(err as Error).message}`);
      }
      const deployment = {
        deploymentId: created.deploymentId,
        environment: to.environment,
        applicationId: to.applicationId,
        version: created.version,
        status: created.status,
      };
      await this.save(tx, f.id, { ...f, deployment });
      await this.events.append(tx, f.id, 'deployment', { ...deployment });
      await this.later(f.id, DEPLOY_POLL_MS);
      return false;
    }
    const d = await this.deployments.get(onBehalfOf(creator), f.deployment.deploymentId).catch(() => null);
    if (!d) return this.fail(tx, f, `The deployment ${f.deployment.deploymentId} is gone`);
    const deployment = { ...f.deployment, status: d.status };
    if (d.status !== f.deployment.status) {
      await this.save(tx, f.id, { ...f, deployment });
      await this.events.append(tx, f.id, 'deployment', { ...deployment });
    }
    if (d.status === 'succeeded') return this.complete(tx, { ...f, deployment });
    if (['failed', 'rejected', 'rolled_back'].includes(d.status))
      return this.fail(
        tx,
        { ...f, deployment },
        `The deployment to ${deployment.environment} ended ${d.status}${d.failureReason ? `: ${d.failureReason}` : ''}`,
      );
    await this.later(f.id, DEPLOY_POLL_MS);
    return false;
  }

  /**
   * Looks at the flow again at the next multiple of `every` ms at least `every` from now. The
   * job is named by that instant: the sweep and the moves that each schedule a look (several
   * chains of them, for a merge or a deployment that takes long) meet in one job per instant
   * instead of multiplying.
   */
  private later(flowId: string, every: number): Promise<unknown> {
    const now = Date.now();
    const at = Math.ceil((now + every) / every) * every;
    return this.queues
      .get(QueueName.Agents)
      .add('flow.advance', { flowId }, { delay: at - now, jobId: `flow-look-${flowId}-${at}` });
  }

  /**
   * The task follows the flow, forward only and one workflow step at a time (in_progress when it
   * starts, review at the merge gate, done once merged), in the task's history as the flow's
   * creator. A task a person moved on already is left as it is.
   */
  private async followTask(
    creator: Principal,
    f: Pick<FlowRow, 'id' | 'taskId'>,
    target: TaskStatus,
  ): Promise<void> {
    const actor = onBehalfOf(creator);
    try {
      let status = (await this.tasks.get(actor, f.taskId)).status;
      while (TASK_STATUSES.indexOf(status) < TASK_STATUSES.indexOf(target)) {
        const next = TASK_STATUSES[TASK_STATUSES.indexOf(status) + 1];
        status = (await this.tasks.changeStatus(actor, f.taskId, { status: next, comment: `flow ${f.id}` }))
          .status;
      }
    } catch (err) {
      this.logger.warn(
        `flow ${f.id}: the task's status was not moved to ${target} (${(err as Error).message})`,
      );
    }
  }

  private async startStage(f: FlowRow, stage: FlowStage, creator: Principal): Promise<void> {
    const task = await this.tasks.get(creator, f.taskId);
    const input: Record<string, unknown> = {
      requirement: [task.title, task.description].filter(Boolean).join('\n'),
    };
    if (stage.feedback) input.feedback = stage.feedback;
    // A code stage goes on with the change an earlier stage opened: one change per flow to review
    // and merge. backend and frontend side by side each open their own (they push at once).
    const alone = stepAt(f.stages, f.current).length === 1;
    // A stage run again (its own change forgotten with its state) goes on with the flow's.
    const changeId = alone ? (flowChanges(f.stages).at(-1) ?? f.changeId ?? undefined) : undefined;
    await this.agents.activate(
      creator,
      stage.name,
      { taskId: f.taskId, input, config: f.config },
      { flowId: f.id, activationId: stage.activationId!, changeId },
    );
  }

  private async complete(tx: Tx, f: FlowRow): Promise<false> {
    await this.save(tx, f.id, { ...f, status: 'completed', current: f.stages.length, error: null });
    await this.events.append(tx, f.id, 'flow', { status: 'completed' });
    await this.publish(tx, f, 'flow.completed', { status: 'completed', deployment: f.deployment });
    return false;
  }

  private async fail(tx: Tx, f: FlowRow, reason: string): Promise<false> {
    await this.save(tx, f.id, { ...f, status: 'failed', gate: null, error: reason });
    await this.events.append(tx, f.id, 'flow', { status: 'failed', error: reason });
    await this.publish(tx, f, 'flow.failed', { status: 'failed', error: reason });
    return false;
  }

  private async publish(
    tx: Tx,
    f: FlowRow,
    type: 'flow.completed' | 'flow.failed' | 'flow.awaiting_approval',
    data: Record<string, unknown>,
  ): Promise<void> {
    await this.outbox.publish(tx, type, { flowId: f.id, taskId: f.taskId, ...data }, f.projectId);
  }

  private save(tx: Tx, id: string, f: FlowState): Promise<void> {
    return this.flows.save(tx.manager, id, f);
  }

  /** The flow's creator, as the platform acts for them. */
  private async creator(f: FlowRow): Promise<Principal | null> {
    return actingFor(await this.users.authState(f.createdBy), `flow:${f.id}`);
  }

  /** The flow waiting at a gate, if the caller may approve it: the next stage's role, membership. */
  private async atGate(tx: Tx, actor: Principal, flowId: string): Promise<FlowRow> {
    const f = await this.visible(actor, flowId, tx);
    if (f.status !== 'awaiting_approval' || !f.gate)
      throw AppError.conflict(`The flow is ${f.status}, not awaiting approval`, { status: f.status });
    const nextStage = f.gate === 'merge' ? null : (f.stages[f.current + 1]?.name as AgentType | undefined);
    const needed = nextStage ? ACTIVATION_PERMISSION[nextStage] : Permission.ChangesWrite;
    if (!actor.can(needed))
      throw AppError.forbidden(
        nextStage
          ? `The next stage is the ${nextStage} agent: ${AGENT_ACTIVATORS[nextStage]} (or admin) approves this gate`
          : 'The merge gate is approved by those who may merge (developer, architect, admin)',
        { required: needed },
      );
    await this.access.writable(actor, f.projectId, needed, tx.manager);
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
