import { Injectable, Logger } from '@nestjs/common';
import { actingFor, AgentsService, isCodeAgent, onBehalfOf } from '@app/agents';
import { ChangesService } from '@app/changes';
import {
  AppConfig,
  DomainEventListeners,
  newId,
  OutboxService,
  Principal,
  QueueName,
  QueueRegistry,
  Semaphore,
  Tx,
  UnitOfWork,
} from '@app/core';
import { DeploymentDto, DeploymentsService } from '@app/deployments';
import { TASK_STATUSES, TasksService, TaskStatus } from '@app/tasks';
import { UsersService } from '@app/users';
import { FlowStage } from './flow.entity';
import { FlowEvents } from './flow-events.service';
import { flowChanges, stepAt } from './flow-stages';
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
 * What moves flows, in the worker. The state lives in the flow's row; `flow.advance` jobs (an
 * activation's end, an approval, a merged change or an ended deployment, the sweep) move it on
 * under the row's lock, so two workers never drive one flow and a lost job or a dead worker loses
 * nothing. A move starts a step's stages (activations made by the platform for the flow's
 * creator), waits for them, stops at a gate, merges the flow's changes after the merge gate, and
 * follows the deployment of the merged commit.
 */
@Injectable()
export class FlowEngine {
  private readonly logger = new Logger(FlowEngine.name);
  private sweeper: NodeJS.Timeout | null = null;
  private listening = false;
  private readonly moving: Semaphore;

  constructor(
    private readonly uow: UnitOfWork,
    private readonly flows: FlowsRepository,
    private readonly events: FlowEvents,
    private readonly agents: AgentsService,
    private readonly changes: ChangesService,
    private readonly deployments: DeploymentsService,
    private readonly tasks: TasksService,
    private readonly users: UsersService,
    private readonly outbox: OutboxService,
    private readonly listeners: DomainEventListeners,
    private readonly queues: QueueRegistry,
    config: AppConfig,
  ) {
    this.moving = new Semaphore(Math.max(1, Math.floor(config.database.poolSize / 4)));
  }

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
    // claude-code is the code stages' provider: the document stages keep their own default.
    const config = { ...f.config };
    if (config.provider === 'claude-code' && !isCodeAgent(stage.name)) delete config.provider;
    await this.agents.activate(
      creator,
      stage.name,
      { taskId: f.taskId, input, config },
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

  /**
   * The task follows the flow, forward only and one workflow step at a time (in_progress when it
   * starts, review at the merge gate, done once merged), in the task's history as the flow's
   * creator. A task a person moved on already is left as it is.
   */
  async followTask(creator: Principal, f: Pick<FlowRow, 'id' | 'taskId'>, target: TaskStatus): Promise<void> {
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

  /** A flow webhook event, with the transition's transaction. */
  async publish(
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
}
