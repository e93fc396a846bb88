import { Injectable } from '@nestjs/common';
import {
  AppError,
  Conditions,
  newId,
  OutboxService,
  Page,
  pageOf,
  Permission,
  Principal,
  Tx,
  UnitOfWork,
} from '@app/core';
import { ProjectAccess, ProjectAccessService, ProjectStatsService } from '@app/projects';
import { EntityManager } from 'typeorm';
import { approverProblems, ApprovalStatus, ApproverCandidate, decide } from './approval-state';
import { ApplicationsRepository } from './applications.repository';
import { ApplicationsService } from './applications.service';
import {
  ApproveDeploymentDto,
  CreateDeploymentDto,
  DeploymentDto,
  DeploymentRow,
  ListDeploymentsQueryDto,
  RejectDeploymentDto,
  RollbackDeploymentDto,
} from './deployment.dto';
import { Environment } from './deployment-plan';
import { DeploymentsRepository } from './deployments.repository';
import { chooseRollbackTarget } from './rollback-target';

/**
 * Deployments as the API drives them: create (straight to the queue, or waiting for approvals),
 * approve/reject, roll back, read. Running them is DeploymentRunner's, in the worker.
 */
@Injectable()
export class DeploymentsService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly applications: ApplicationsService,
    private readonly access: ProjectAccessService,
    private readonly stats: ProjectStatsService,
    private readonly outbox: OutboxService,
    private readonly deployments: DeploymentsRepository,
    private readonly applicationRows: ApplicationsRepository,
  ) {}

  async create(actor: Principal, dto: CreateDeploymentDto): Promise<DeploymentDto> {
    return this.uow.run(async (tx) => {
      const { app, approvers } = await this.admissible(tx, actor, dto);
      const id = newId('deployment');
      const waiting = approvers.length > 0;
      await this.deployments.insert(tx.manager, {
        id,
        applicationId: app.id,
        projectId: app.project_id,
        environment: dto.environment,
        version: dto.version,
        strategy: dto.strategy ?? 'rolling',
        status: waiting ? 'pending_approval' : 'queued',
        requestedBy: actor.userId,
        queuedAt: waiting ? null : new Date(),
      });
      if (waiting) {
        await this.deployments.insertApprovals(tx.manager, id, approvers);
      } else {
        await this.enqueueStart(tx, app.id, dto.environment, id);
      }
      await this.stats.adjust(tx, app.project_id, { totalDeployments: +1 });
      return this.deployments.view(id, tx.manager);
    });
  }

  async list(actor: Principal, query: ListDeploymentsQueryDto): Promise<Page<DeploymentDto>> {
    const where = this.access.restrictToVisible(new Conditions(), actor);
    const { rows, total } = await this.deployments.page(where, query);
    return pageOf(await this.deployments.views(rows), total, query);
  }

  async get(actor: Principal, deploymentId: string): Promise<DeploymentDto> {
    const row = await this.visible(actor, deploymentId);
    return (await this.deployments.views([row.row]))[0];
  }

  approve(actor: Principal, deploymentId: string, dto: ApproveDeploymentDto): Promise<DeploymentDto> {
    return this.decide(actor, deploymentId, 'approve', dto.comment ?? null);
  }

  reject(actor: Principal, deploymentId: string, dto: RejectDeploymentDto): Promise<DeploymentDto> {
    return this.decide(actor, deploymentId, 'reject', dto.reason);
  }

  /**
   * A new deployment of an earlier version (rollbacks need no approvals: the version already ran
   * there), queued ahead of other waiting deployments; the one rolled back becomes rolled_back.
   */
  async rollback(actor: Principal, deploymentId: string, dto: RollbackDeploymentDto): Promise<DeploymentDto> {
    return this.uow.run(async (tx) => {
      const { row: current, access } = await this.visible(actor, deploymentId, tx.manager);
      this.access.assertCanChange(actor, access, Permission.DeploymentsWrite);
      // The same lock the runner takes to start and finish: "current" cannot change under us.
      await this.applicationRows.lockExistingEnvironment(
        tx.manager,
        current.application_id,
        current.environment,
      );
      const history = await this.deployments.started(tx.manager, current.application_id, current.environment);
      const status = (await this.deployments.lockStatus(tx.manager, current.id)) as DeploymentRow['status'];
      const target = chooseRollbackTarget(
        { id: current.id, version: current.version, status, startedAt: current.started_at },
        history.map((d) => ({ id: d.id, version: d.version, status: d.status, startedAt: d.started_at })),
        dto.targetVersion,
      );
      const id = newId('deployment');
      await this.deployments.insertRollback(tx.manager, {
        id,
        of: current,
        version: target.version,
        requestedBy: actor.userId,
        reason: dto.reason,
      });
      await this.deployments.markRolledBack(tx.manager, current.id, id);
      await this.stats.adjust(tx, current.project_id, { totalDeployments: +1 });
      await this.enqueueStart(tx, current.application_id, current.environment, id);
      return this.deployments.view(id, tx.manager);
    });
  }

  /**
   * Checks that `actor` could create this deployment (the application, the role, the approvers)
   * without creating it: a flow checks its deployTo when it starts, long before it deploys.
   */
  async assertCreatable(actor: Principal, dto: Omit<CreateDeploymentDto, 'version'>): Promise<void> {
    await this.uow.run((tx) => this.admissible(tx, actor, { ...dto, version: 'check' }));
  }

  /**
   * Withdraws a deployment that has not started (waiting for approvals, or queued): it ends
   * rejected with the reason. One under way runs to its end (stopping a rollout half way leaves
   * the environment mixed; a rollback is the way back). Returns the status it has after.
   */
  async withdraw(deploymentId: string, reason: string): Promise<DeploymentRow['status'] | undefined> {
    return this.uow.run(async (tx) => {
      const row = await this.deployments.find(deploymentId, tx.manager);
      if (!row) return undefined;
      // The runner's lock: a queued deployment cannot start while it is withdrawn.
      await this.applicationRows.lockExistingEnvironment(tx.manager, row.application_id, row.environment);
      const status = await this.deployments.lockStatus(tx.manager, row.id);
      if (status !== 'pending_approval' && status !== 'queued') return status;
      await this.deployments.markRejected(tx.manager, row.id, reason);
      return 'rejected';
    });
  }

  // ---- helpers --------------------------------------------------------------------------------

  /** The application, if `actor` may deploy it as `dto` asks, and the approvers it names. */
  private async admissible(
    tx: Tx,
    actor: Principal,
    dto: CreateDeploymentDto,
  ): Promise<{ app: { id: string; project_id: string }; approvers: string[] }> {
    const { row: app, access } = await this.applications.visible(actor, dto.applicationId, tx.manager);
    this.access.assertCanChange(actor, access, Permission.DeploymentsWrite);
    const approvers = dto.approvals ?? [];
    const problems = approverProblems(
      dto.environment,
      actor.userId,
      approvers,
      await this.approverCandidates(tx, access, approvers),
    );
    if (problems.length) throw AppError.validation(problems);
    return { app, approvers };
  }

  private async decide(
    actor: Principal,
    deploymentId: string,
    decision: 'approve' | 'reject',
    comment: string | null,
  ): Promise<DeploymentDto> {
    return this.uow.run(async (tx) => {
      const { row } = await this.visible(actor, deploymentId, tx.manager, true);
      const approvals = await this.deployments.approvals(tx.manager, row.id);
      const { next } = decide({
        status: row.status,
        requestedBy: row.requested_by,
        approvals: approvals.map((a) => ({ userId: a.user_id, status: a.status })),
        actorId: actor.userId,
        decision,
      });
      const status: ApprovalStatus = decision === 'approve' ? 'approved' : 'rejected';
      await this.deployments.recordDecision(tx.manager, row.id, actor.userId, status, comment);
      if (next === 'queued') {
        await this.deployments.markQueued(tx.manager, row.id);
        await this.enqueueStart(tx, row.application_id, row.environment, row.id);
      } else if (next === 'rejected') {
        await this.deployments.markRejected(tx.manager, row.id, `rejected by ${actor.userId}: ${comment}`);
      }
      return this.deployments.view(row.id, tx.manager);
    });
  }

  /** The deployment if the caller may see its project; 404 otherwise. */
  private async visible(
    actor: Principal,
    deploymentId: string,
    manager?: EntityManager,
    lock = false,
  ): Promise<{ row: DeploymentRow; access: ProjectAccess }> {
    const row = await this.deployments.find(deploymentId, manager, lock);
    const access = row ? await this.access.readable(actor, row.project_id).catch(() => null) : null;
    if (!row || !access) throw AppError.notFound('deployment', deploymentId);
    return { row, access };
  }

  /** Who the named approvers are, and whether each can see the project. */
  private async approverCandidates(
    tx: Tx,
    access: ProjectAccess,
    ids: string[],
  ): Promise<ApproverCandidate[]> {
    if (!ids.length) return [];
    const [users, seeing] = await Promise.all([
      this.deployments.approverUsers(tx.manager, ids),
      this.access.usersWhoCanSee(access.project.id, ids, tx.manager),
    ]);
    return users.map((u) => ({
      ...u,
      canSeeProject: seeing.has(u.id),
    }));
  }

  /** The start of the next deployment there, keyed by the one just queued (what DeploymentRunner's sweep looks for). */
  private async enqueueStart(
    tx: Tx,
    applicationId: string,
    environment: Environment,
    queuedId: string,
  ): Promise<void> {
    await this.outbox.enqueue(tx, 'deployment.start', { applicationId, environment }, { key: queuedId });
  }
}
