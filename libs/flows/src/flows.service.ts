import { Injectable, Logger } from '@nestjs/common';
import {
  ACTIVATION_PERMISSION,
  actingFor,
  AGENT_ACTIVATORS,
  AgentsService,
  AgentType,
  onBehalfOf,
} from '@app/agents';
import { ChangesService } from '@app/changes';
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
  QueueName,
  QueueRegistry,
  Semaphore,
  Tx,
  UnitOfWork,
} from '@app/core';
import { ProjectAccessService } from '@app/projects';
import { TASK_STATUSES, TasksService, TaskStatus } from '@app/tasks';
import { UsersService } from '@app/users';
import { FINISHED_FLOW_STATUSES, FlowStage, FlowStatus } from './flow.entity';
import {
  DEFAULT_GATES,
  DEFAULT_STAGES,
  FlowCommentDto,
  FlowDto,
  ListFlowsQueryDto,
  StartFlowDto,
} from './flow.dto';
import { FlowRow, FlowsRepository } from './flows.repository';

/** How often a merge under way is looked at again. */
const MERGE_POLL_MS = 1000;
/** A running flow untouched this long is advanced by the sweep (its job may be lost). */
const IDLE_MS = 10_000;

type Mutable = Pick<
  FlowRow,
  | 'status'
  | 'stages'
  | 'current'
  | 'gate'
  | 'feedback'
  | 'changeId'
  | 'mergeApproved'
  | 'mergeRequested'
  | 'error'
>;

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
  private readonly moving: Semaphore;

  constructor(
    private readonly uow: UnitOfWork,
    private readonly flows: FlowsRepository,
    private readonly agents: AgentsService,
    private readonly changes: ChangesService,
    private readonly tasks: TasksService,
    private readonly users: UsersService,
    private readonly access: ProjectAccessService,
    private readonly outbox: OutboxService,
    private readonly queues: QueueRegistry,
    config: AppConfig,
  ) {
    this.moving = new Semaphore(Math.max(1, Math.floor(config.database.poolSize / 4)));
  }

  // ---- the API -----------------------------------------------------------------------------------

  async start(actor: Principal, taskId: string, dto: StartFlowDto): Promise<FlowDto> {
    const task = await this.tasks.get(actor, taskId);
    const stages = dto.stages ?? DEFAULT_STAGES;
    if (new Set(stages).size !== stages.length)
      throw AppError.validation([
        { field: 'stages', message: 'a stage may be listed once', code: 'invalid' },
      ]);
    const gates = dto.gates ?? DEFAULT_GATES.filter((g) => g === 'merge' || stages.includes(g as AgentType));
    const unknown = gates.filter((g) => g !== 'merge' && !stages.includes(g as AgentType));
    if (unknown.length)
      throw AppError.validation([
        {
          field: 'gates',
          message: `gates must name stages of this flow or merge (${unknown.join(', ')})`,
          code: 'invalid',
        },
      ]);
    const first = stages[0];
    if (!actor.can(ACTIVATION_PERMISSION[first]))
      throw AppError.forbidden(
        `Starting this flow activates the ${first} agent: ${AGENT_ACTIVATORS[first]} (or admin) only`,
        {
          required: ACTIVATION_PERMISSION[first],
        },
      );
    const id = newId('flow');
    await this.uow.run(async (tx) => {
      await this.access.writable(actor, task.projectId, ACTIVATION_PERMISSION[first], tx.manager);
      await this.flows.insert(tx.manager, {
        id,
        projectId: task.projectId,
        taskId: task.id,
        stages: stages.map((name) => emptyStage(name)),
        gates: [...new Set(gates)],
        config: (dto.config ?? {}) as Record<string, unknown>,
        createdBy: actor.userId,
      });
      await this.outbox.enqueue(tx, 'flow.advance', { flowId: id });
    });
    await this.followTask(actor, { id, taskId: task.id }, 'in_progress');
    return this.get(actor, id);
  }

  async get(actor: Principal, flowId: string): Promise<FlowDto> {
    return mapFlow(await this.visible(actor, flowId));
  }

  async list(actor: Principal, query: ListFlowsQueryDto): Promise<Page<FlowDto>> {
    const where = this.access.restrictToVisible(new Conditions(), actor);
    const taskId = query.taskId ? (await this.tasks.get(actor, query.taskId)).id : undefined;
    const { rows, total } = await this.flows.page(where, { taskId, status: query.status }, query);
    return pageOf(rows.map(mapFlow), total, query);
  }

  /**
   * Approves the gate the flow waits at: the role of the stage that comes next (changes:write
   * for the merge gate) and membership. The comment reaches the next stage's prompt.
   */
  async approve(actor: Principal, flowId: string, dto: FlowCommentDto): Promise<FlowDto> {
    await this.uow.run(async (tx) => {
      const f = await this.atGate(tx, actor, flowId);
      const next: Mutable = { ...f, gate: null, status: 'running', feedback: dto.comment?.trim() || null };
      if (f.gate !== 'merge') next.current = f.current + 1;
      else next.mergeApproved = true;
      await this.save(tx, f.id, next);
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
      const stages = [...f.stages];
      stages[f.current] = { ...emptyStage(stage.name) };
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
      await this.publish(tx, f, 'flow.failed', { status: 'rejected', error: reason });
    });
    return this.get(actor, flowId);
  }

  /** Cancels a flow that has not ended, and the activation it runs. */
  async cancel(actor: Principal, flowId: string): Promise<FlowDto> {
    let activationId: string | null = null;
    await this.uow.run(async (tx) => {
      const f = await this.visible(actor, flowId, tx);
      await this.access.writable(actor, f.projectId, Permission.TasksWrite, tx.manager);
      if (FINISHED_FLOW_STATUSES.includes(f.status))
        throw AppError.conflict(`The flow is already ${f.status}`, { status: f.status });
      const stages = f.stages.map((s) =>
        s.status === 'running' || s.status === 'pending' ? { ...s, status: 'cancelled' as const } : s,
      );
      activationId = f.stages.find((s) => s.status === 'running')?.activationId ?? null;
      await this.save(tx, f.id, { ...f, stages, gate: null, status: 'cancelled', error: null });
    });
    if (activationId) await this.agents.cancelForFlow(activationId);
    return this.get(actor, flowId);
  }

  // ---- the worker's side -------------------------------------------------------------------------

  /** In the worker: advances running flows whose job may have been lost. */
  startSweeping(): void {
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
    if (f.current < f.stages.length) {
      const stage = f.stages[f.current];
      if (stage.status === 'pending') {
        const activationId = newId('activation');
        const stages = [...f.stages];
        stages[f.current] = {
          ...stage,
          status: 'running',
          activationId,
          feedback: f.feedback,
          startedAt: new Date().toISOString(),
        };
        await this.save(tx, f.id, { ...f, stages, feedback: null });
        // The activation is made after this commits; a crash between leaves the stage running with
        // an id no activation has: the next advance makes it then.
        await this.queues.get(QueueName.Agents).add('flow.advance', { flowId: f.id });
        return false;
      }
      if (stage.status !== 'running' || !stage.activationId) return false;
      const a = await this.agents.stateOf(stage.activationId);
      if (!a) {
        try {
          await this.startStage(f, stage, creator);
        } catch (err) {
          return this.fail(tx, f, `The ${stage.name} stage could not start: ${(err as Error).message}`);
        }
        return false;
      }
      if (a.status === 'queued' || a.status === 'processing') return false;
      const stages = [...f.stages];
      const change = (a.output?.change as { changeId?: string } | null | undefined)?.changeId ?? null;
      if (a.status !== 'completed') {
        stages[f.current] = {
          ...stage,
          status: a.status === 'cancelled' ? 'cancelled' : 'failed',
          error: a.error,
          completedAt: new Date().toISOString(),
          changeId: change,
        };
        await this.save(tx, f.id, { ...f, stages, changeId: f.changeId ?? change });
        return this.fail(
          tx,
          { ...f, stages, changeId: f.changeId ?? change },
          `The ${stage.name} stage ended ${a.status}${a.error ? `: ${a.error}` : ''}`,
        );
      }
      stages[f.current] = {
        ...stage,
        status: 'completed',
        completedAt: new Date().toISOString(),
        changeId: change,
      };
      const next: Mutable = { ...f, stages, changeId: f.changeId ?? change };
      if (f.gates.includes(stage.name)) {
        await this.save(tx, f.id, { ...next, status: 'awaiting_approval', gate: stage.name });
        await this.publish(tx, f, 'flow.awaiting_approval', { gate: stage.name });
        return false;
      }
      await this.save(tx, f.id, { ...next, current: f.current + 1 });
      return true;
    }
    // Past the last stage: the merge gate, the merge, the end.
    if (!f.changeId) return this.complete(tx, f);
    if (f.gates.includes('merge') && !f.mergeApproved) {
      await this.save(tx, f.id, { ...f, status: 'awaiting_approval', gate: 'merge' });
      await this.publish(tx, f, 'flow.awaiting_approval', { gate: 'merge', changeId: f.changeId });
      await this.followTask(creator, f, 'review');
      return false;
    }
    const change = await this.changes.get(creator, f.changeId).catch(() => null);
    if (!change) return this.fail(tx, f, `The change ${f.changeId} is gone`);
    if (change.status === 'merged') {
      await this.followTask(creator, f, 'done');
      return this.complete(tx, f);
    }
    if (change.status !== 'open') return this.fail(tx, f, `The change ${f.changeId} was ${change.status}`);
    if (!f.mergeRequested) {
      try {
        await this.changes.merge(onBehalfOf(creator), f.changeId, {});
      } catch (err) {
        return this.fail(tx, f, `The change could not be merged: ${(err as Error).message}`);
      }
      await this.save(tx, f.id, { ...f, mergeRequested: true });
    } else if (change.mergeError && !change.mergeRequestedAt) {
      return this.fail(tx, f, `The merge failed: ${change.mergeError}`);
    }
    await this.queues.get(QueueName.Agents).add('flow.advance', { flowId: f.id }, { delay: MERGE_POLL_MS });
    return false;
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
    await this.agents.activate(
      creator,
      stage.name,
      { taskId: f.taskId, input, config: f.config },
      { flowId: f.id, activationId: stage.activationId! },
    );
  }

  private async complete(tx: Tx, f: FlowRow): Promise<false> {
    await this.save(tx, f.id, { ...f, status: 'completed', current: f.stages.length, error: null });
    await this.publish(tx, f, 'flow.completed', { status: 'completed' });
    return false;
  }

  private async fail(tx: Tx, f: FlowRow, reason: string): Promise<false> {
    await this.save(tx, f.id, { ...f, status: 'failed', gate: null, error: reason });
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

  private save(tx: Tx, id: string, f: Mutable): Promise<void> {
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

export function mapFlow(f: FlowRow): FlowDto {
  return {
    flowId: f.id,
    projectId: f.projectId,
    taskId: f.taskId,
    status: f.status as FlowStatus,
    stages: f.stages,
    gate: f.gate,
    gates: f.gates,
    changeId: f.changeId,
    error: f.error,
    createdBy: f.createdBy,
    createdAt: iso(f.createdAt)!,
    updatedAt: iso(f.updatedAt)!,
    completedAt: iso(f.completedAt),
    progressUrl: `/v2/flows/${f.id}`,
  };
}
