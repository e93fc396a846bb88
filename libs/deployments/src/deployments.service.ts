import { Injectable } from '@nestjs/common';
import {
  AppError,
  Conditions,
  newId,
  OutboxService,
  Page,
  pageClause,
  pageOf,
  Permission,
  Principal,
  Sql,
  Tx,
  UnitOfWork,
} from '@app/core';
import { ProjectAccess, ProjectAccessService, ProjectStatsService } from '@app/projects';
import { approverProblems, ApprovalStatus, ApproverCandidate, decide } from './approval-state';
import { ApplicationsService } from './applications.service';
import {
  ApproveDeploymentDto,
  CreateDeploymentDto,
  DEPLOYMENT_COLUMNS,
  DeploymentApprovalRow,
  DeploymentDto,
  DeploymentRow,
  ListDeploymentsQueryDto,
  RejectDeploymentDto,
  RollbackDeploymentDto,
} from './deployment.dto';
import { Environment } from './deployment-plan';
import { deploymentView, deploymentViews, RowQuery } from './deployment-views';
import { chooseRollbackTarget } from './rollback-target';

const SORT_COLUMNS: Record<ListDeploymentsQueryDto['sortBy'], string> = {
  createdAt: 'd.created_at',
  startedAt: 'd.started_at',
  finishedAt: 'd.finished_at',
};

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
    private readonly sql: Sql,
  ) {}

  async create(actor: Principal, dto: CreateDeploymentDto): Promise<DeploymentDto> {
    return this.uow.run(async (tx) => {
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
      const id = newId('deployment');
      const waiting = approvers.length > 0;
      await tx.manager.query(
        `INSERT INTO deployments (id, application_id, project_id, environment, version, strategy, status, requested_by, queued_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          id,
          app.id,
          app.project_id,
          dto.environment,
          dto.version,
          dto.strategy ?? 'rolling',
          waiting ? 'pending_approval' : 'queued',
          actor.userId,
          waiting ? null : new Date(),
        ],
      );
      if (waiting) {
        await tx.manager.query(
          `INSERT INTO deployment_approvals (deployment_id, user_id, position, status)
           SELECT $1, user_id, position, 'pending' FROM unnest($2::varchar[]) WITH ORDINALITY AS a(user_id, position)`,
          [id, approvers],
        );
      } else {
        await this.enqueueStart(tx, app.id, dto.environment, id);
      }
      await this.stats.adjust(tx, app.project_id, { totalDeployments: +1 });
      return deploymentView(this.through(tx), id);
    });
  }

  async list(actor: Principal, query: ListDeploymentsQueryDto): Promise<Page<DeploymentDto>> {
    const where = this.access.restrictToVisible(new Conditions(), actor);
    if (query.applicationId) where.and((v) => `d.application_id = ${v(query.applicationId)}`);
    if (query.environment) where.and((v) => `d.environment = ${v(query.environment)}`);
    if (query.status) where.and((v) => `d.status = ${v(query.status)}`);
    if (query.projectId) where.and((v) => `d.project_id = ${v(query.projectId)}`);
    // PostgreSQL puts NULLs (deployments not started yet) last ascending and first descending.
    const { rows, total } = await this.sql.page<DeploymentRow>(
      DEPLOYMENT_COLUMNS,
      'FROM deployments d JOIN projects p ON p.id = d.project_id',
      where,
      pageClause(query, SORT_COLUMNS[query.sortBy], 'd.id'),
    );
    return pageOf(await deploymentViews(this.pool, rows), total, query);
  }

  async get(actor: Principal, deploymentId: string): Promise<DeploymentDto> {
    const row = await this.visible(actor, deploymentId, this.pool);
    return (await deploymentViews(this.pool, [row.row]))[0];
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
      const query = this.through(tx);
      const { row: current, access } = await this.visible(actor, deploymentId, query);
      this.access.assertCanChange(actor, access, Permission.DeploymentsWrite);
      // The same lock the runner takes to start and finish: "current" cannot change under us.
      await tx.manager.query(
        `SELECT 1 FROM application_environments WHERE application_id = $1 AND environment = $2 FOR UPDATE`,
        [current.application_id, current.environment],
      );
      const history = await query<{
        id: string;
        version: string;
        status: DeploymentRow['status'];
        started_at: Date;
      }>(
        `SELECT id, version, status, started_at FROM deployments
          WHERE application_id = $1 AND environment = $2 AND started_at IS NOT NULL`,
        [current.application_id, current.environment],
      );
      const [locked] = await query<DeploymentRow>(`SELECT status FROM deployments WHERE id = $1 FOR UPDATE`, [
        current.id,
      ]);
      const target = chooseRollbackTarget(
        { id: current.id, version: current.version, status: locked.status, startedAt: current.started_at },
        history.map((d) => ({ id: d.id, version: d.version, status: d.status, startedAt: d.started_at })),
        dto.targetVersion,
      );
      const id = newId('deployment');
      await tx.manager.query(
        `INSERT INTO deployments (id, application_id, project_id, environment, version, strategy, status, requested_by,
                                  rollback_of, rollback_reason, queued_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $8, $9, now())`,
        [
          id,
          current.application_id,
          current.project_id,
          current.environment,
          target.version,
          current.strategy,
          actor.userId,
          current.id,
          dto.reason,
        ],
      );
      await tx.manager.query(
        `UPDATE deployments SET status = 'rolled_back', rolled_back_by = $2, updated_at = now() WHERE id = $1`,
        [current.id, id],
      );
      await this.stats.adjust(tx, current.project_id, { totalDeployments: +1 });
      await this.enqueueStart(tx, current.application_id, current.environment, id);
      return deploymentView(query, id);
    });
  }

  // ---- helpers --------------------------------------------------------------------------------

  private async decide(
    actor: Principal,
    deploymentId: string,
    decision: 'approve' | 'reject',
    comment: string | null,
  ): Promise<DeploymentDto> {
    return this.uow.run(async (tx) => {
      const query = this.through(tx);
      const { row } = await this.visible(actor, deploymentId, query, true);
      const approvals = await query<DeploymentApprovalRow>(
        `SELECT user_id, status FROM deployment_approvals WHERE deployment_id = $1 ORDER BY position`,
        [row.id],
      );
      const { next } = decide({
        status: row.status,
        requestedBy: row.requested_by,
        approvals: approvals.map((a) => ({ userId: a.user_id, status: a.status })),
        actorId: actor.userId,
        decision,
      });
      const status: ApprovalStatus = decision === 'approve' ? 'approved' : 'rejected';
      await tx.manager.query(
        `UPDATE deployment_approvals SET status = $3, comment = $4, decided_at = now() WHERE deployment_id = $1 AND user_id = $2`,
        [row.id, actor.userId, status, comment],
      );
      if (next === 'queued') {
        await tx.manager.query(
          `UPDATE deployments SET status = 'queued', queued_at = now(), updated_at = now() WHERE id = $1`,
          [row.id],
        );
        await this.enqueueStart(tx, row.application_id, row.environment, row.id);
      } else if (next === 'rejected') {
        await tx.manager.query(
          `UPDATE deployments SET status = 'rejected', failure_reason = $2, finished_at = now(), updated_at = now() WHERE id = $1`,
          [row.id, `rejected by ${actor.userId}: ${comment}`],
        );
      }
      return deploymentView(query, row.id);
    });
  }

  /** The deployment if the caller may see its project; 404 otherwise. */
  private async visible(
    actor: Principal,
    deploymentId: string,
    query: RowQuery,
    lock = false,
  ): Promise<{ row: DeploymentRow; access: ProjectAccess }> {
    const [row] = await query<DeploymentRow>(
      `SELECT ${DEPLOYMENT_COLUMNS} FROM deployments d WHERE d.id = $1${lock ? ' FOR UPDATE' : ''}`,
      [deploymentId],
    );
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
      tx.manager.query(`SELECT id, role, status FROM users WHERE id = ANY($1) AND deleted_at IS NULL`, [ids]),
      this.access.usersWhoCanSee(access.project.id, ids, tx.manager),
    ]);
    return (users as Array<Omit<ApproverCandidate, 'canSeeProject'>>).map((u) => ({
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

  private through(tx: Tx): RowQuery {
    return (text, values) => tx.manager.query(text, values);
  }

  private readonly pool: RowQuery = (text, values) => this.sql.rows(text, values);
}
