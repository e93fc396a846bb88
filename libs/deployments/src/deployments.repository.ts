import { Injectable } from '@nestjs/common';
import { Conditions, pageClause, Sql } from '@app/core';
import { sweepLapsed } from '@app/runner';
import { EntityManager } from 'typeorm';
import { ApprovalStatus, ApproverCandidate } from './approval-state';
import {
  DeploymentApprovalRow,
  DeploymentDto,
  DeploymentRow,
  DeploymentStepRow,
  ListDeploymentsQueryDto,
  mapDeployment,
} from './deployment.dto';
import { PlannedStep } from './deployment-plan';

/** Deployment columns as the statements select them. */
const DEPLOYMENT_COLUMNS = `d.id, d.application_id, d.project_id, d.environment, d.version, d.strategy, d.status,
  d.requested_by, d.rollback_of, d.rollback_reason, d.rolled_back_by, d.previous_version, d.previous_colour,
  d.failure_reason, d.runs, d.created_at, d.queued_at, d.started_at, d.finished_at, d.updated_at`;

const STEP_COLUMNS = `deployment_id, position, name, action, phase, percent, colour, version, status, attempts, output, error, started_at, finished_at`;

const SORT_COLUMNS: Record<ListDeploymentsQueryDto['sortBy'], string> = {
  createdAt: 'd.created_at',
  startedAt: 'd.started_at',
  finishedAt: 'd.finished_at',
};

/** Deployments whose worker stopped renewing their lease. */
const LAPSED_DEPLOYMENTS = { table: 'deployments', running: 'in_progress', limit: 100 };

/** A deployment of an environment's history, as a rollback chooses among them. */
export interface StartedDeploymentRow {
  id: string;
  version: string;
  status: DeploymentRow['status'];
  started_at: Date;
}

/** The last deployment started in an environment: whether it runs, or ended a moment ago. */
export interface LastStartedRow {
  id: string;
  running: boolean;
  recent: boolean;
}

/**
 * The deployments, deployment_steps and deployment_approvals tables. Without a manager a statement
 * runs straight on the pool; the runner's lease checks (every step write checks the lease token)
 * are single statements there.
 */
@Injectable()
export class DeploymentsRepository {
  constructor(private readonly sql: Sql) {}

  // ---- reading ------------------------------------------------------------------------------------

  /** The deployment (locked FOR UPDATE with `lock`, in the manager's transaction). */
  find(deploymentId: string, manager?: EntityManager, lock = false): Promise<DeploymentRow | undefined> {
    return this.sql.one<DeploymentRow>(
      `SELECT ${DEPLOYMENT_COLUMNS} FROM deployments d WHERE d.id = $1${lock ? ' FOR UPDATE' : ''}`,
      [deploymentId],
      manager,
    );
  }

  /** One page of deployments in the visible projects (`where`: restrictToVisible's conditions), and the total. */
  page(where: Conditions, query: ListDeploymentsQueryDto): Promise<{ rows: DeploymentRow[]; total: number }> {
    if (query.applicationId) where.and((v) => `d.application_id = ${v(query.applicationId)}`);
    if (query.environment) where.and((v) => `d.environment = ${v(query.environment)}`);
    if (query.status) where.and((v) => `d.status = ${v(query.status)}`);
    if (query.projectId) where.and((v) => `d.project_id = ${v(query.projectId)}`);
    // PostgreSQL puts NULLs (deployments not started yet) last ascending and first descending.
    return this.sql.page<DeploymentRow>(
      DEPLOYMENT_COLUMNS,
      'FROM deployments d JOIN projects p ON p.id = d.project_id',
      where,
      pageClause(query, SORT_COLUMNS[query.sortBy], 'd.id'),
    );
  }

  /** Deployments as the API shows them, with their steps and approvals (two queries whatever the count). */
  async views(rows: DeploymentRow[], manager?: EntityManager): Promise<DeploymentDto[]> {
    if (!rows.length) return [];
    const ids = rows.map((r) => r.id);
    const [steps, approvals] = await Promise.all([
      this.sql.rows<DeploymentStepRow>(
        `SELECT deployment_id, position, name, action, phase, percent, colour, version, status, attempts, output, error,
              started_at, finished_at
         FROM deployment_steps WHERE deployment_id = ANY($1)`,
        [ids],
        manager,
      ),
      this.sql.rows<DeploymentApprovalRow>(
        `SELECT deployment_id, user_id, position, status, comment, decided_at
         FROM deployment_approvals WHERE deployment_id = ANY($1)`,
        [ids],
        manager,
      ),
    ]);
    return rows.map((r) => mapDeployment(r, steps, approvals));
  }

  /** One deployment as the API shows it. */
  async view(deploymentId: string, manager?: EntityManager): Promise<DeploymentDto> {
    const rows = await this.sql.rows<DeploymentRow>(
      `SELECT ${DEPLOYMENT_COLUMNS} FROM deployments d WHERE d.id = $1`,
      [deploymentId],
      manager,
    );
    return (await this.views(rows, manager))[0];
  }

  // ---- requesting, approving, rolling back -------------------------------------------------------

  async insert(
    manager: EntityManager,
    d: {
      id: string;
      applicationId: string;
      projectId: string;
      environment: string;
      version: string;
      strategy: string;
      status: 'pending_approval' | 'queued';
      requestedBy: string;
      queuedAt: Date | null;
    },
  ): Promise<void> {
    await this.sql.exec(
      `INSERT INTO deployments (id, application_id, project_id, environment, version, strategy, status, requested_by, queued_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        d.id,
        d.applicationId,
        d.projectId,
        d.environment,
        d.version,
        d.strategy,
        d.status,
        d.requestedBy,
        d.queuedAt,
      ],
      manager,
    );
  }

  /** The deployment's approvals, pending, in the order given. */
  async insertApprovals(manager: EntityManager, deploymentId: string, approvers: string[]): Promise<void> {
    await this.sql.exec(
      `INSERT INTO deployment_approvals (deployment_id, user_id, position, status)
           SELECT $1, user_id, position, 'pending' FROM unnest($2::varchar[]) WITH ORDINALITY AS a(user_id, position)`,
      [deploymentId, approvers],
      manager,
    );
  }

  /** The named users who exist (not deleted), with their role and status. */
  approverUsers(
    manager: EntityManager,
    ids: string[],
  ): Promise<Array<Omit<ApproverCandidate, 'canSeeProject'>>> {
    return this.sql.rows<Omit<ApproverCandidate, 'canSeeProject'>>(
      `SELECT id, role, status FROM users WHERE id = ANY($1) AND deleted_at IS NULL`,
      [ids],
      manager,
    );
  }

  approvals(manager: EntityManager, deploymentId: string): Promise<DeploymentApprovalRow[]> {
    return this.sql.rows<DeploymentApprovalRow>(
      `SELECT user_id, status FROM deployment_approvals WHERE deployment_id = $1 ORDER BY position`,
      [deploymentId],
      manager,
    );
  }

  async recordDecision(
    manager: EntityManager,
    deploymentId: string,
    userId: string,
    status: ApprovalStatus,
    comment: string | null,
  ): Promise<void> {
    await this.sql.exec(
      `UPDATE deployment_approvals SET status = $3, comment = $4, decided_at = now() WHERE deployment_id = $1 AND user_id = $2`,
      [deploymentId, userId, status, comment],
      manager,
    );
  }

  async markQueued(manager: EntityManager, deploymentId: string): Promise<void> {
    await this.sql.exec(
      `UPDATE deployments SET status = 'queued', queued_at = now(), updated_at = now() WHERE id = $1`,
      [deploymentId],
      manager,
    );
  }

  async markRejected(manager: EntityManager, deploymentId: string, reason: string): Promise<void> {
    await this.sql.exec(
      `UPDATE deployments SET status = 'rejected', failure_reason = $2, finished_at = now(), updated_at = now() WHERE id = $1`,
      [deploymentId, reason],
      manager,
    );
  }

  /** The deployments of an environment that started. */
  started(
    manager: EntityManager,
    applicationId: string,
    environment: string,
  ): Promise<StartedDeploymentRow[]> {
    return this.sql.rows<StartedDeploymentRow>(
      `SELECT id, version, status, started_at FROM deployments
          WHERE application_id = $1 AND environment = $2 AND started_at IS NOT NULL`,
      [applicationId, environment],
      manager,
    );
  }

  /** The deployment's status, its row locked. */
  async lockStatus(
    manager: EntityManager,
    deploymentId: string,
  ): Promise<DeploymentRow['status'] | undefined> {
    const row = await this.sql.one<Pick<DeploymentRow, 'status'>>(
      `SELECT status FROM deployments WHERE id = $1 FOR UPDATE`,
      [deploymentId],
      manager,
    );
    return row?.status;
  }

  /** A rollback of `of`, queued now. */
  async insertRollback(
    manager: EntityManager,
    d: {
      id: string;
      of: DeploymentRow;
      version: string;
      requestedBy: string;
      reason: string;
    },
  ): Promise<void> {
    await this.sql.exec(
      `INSERT INTO deployments (id, application_id, project_id, environment, version, strategy, status, requested_by,
                                  rollback_of, rollback_reason, queued_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $8, $9, now())`,
      [
        d.id,
        d.of.application_id,
        d.of.project_id,
        d.of.environment,
        d.version,
        d.of.strategy,
        d.requestedBy,
        d.of.id,
        d.reason,
      ],
      manager,
    );
  }

  async markRolledBack(manager: EntityManager, deploymentId: string, by: string): Promise<void> {
    await this.sql.exec(
      `UPDATE deployments SET status = 'rolled_back', rolled_back_by = $2, updated_at = now() WHERE id = $1`,
      [deploymentId, by],
      manager,
    );
  }

  // ---- the runner: starting ------------------------------------------------------------------------

  /** The environment's next queued deployment (rollbacks first), locked, unless one runs there. */
  nextQueued(
    manager: EntityManager,
    applicationId: string,
    environment: string,
  ): Promise<Pick<DeploymentRow, 'id' | 'version' | 'strategy'> | undefined> {
    return this.sql.one<Pick<DeploymentRow, 'id' | 'version' | 'strategy'>>(
      `SELECT q.id, q.version, q.strategy FROM deployments q
          WHERE q.application_id = $1 AND q.environment = $2 AND q.status = 'queued'
            AND NOT EXISTS (SELECT 1 FROM deployments r
                             WHERE r.application_id = $1 AND r.environment = $2 AND r.status = 'in_progress')
          ORDER BY q.rollback_of IS NOT NULL DESC, q.queued_at, q.id LIMIT 1 FOR UPDATE OF q`,
      [applicationId, environment],
      manager,
    );
  }

  /** Starts the deployment under a new lease, remembering what was live. */
  async markStarted(
    manager: EntityManager,
    deploymentId: string,
    live: { version: string | null; colour: string | null },
    token: string,
    leaseSeconds: number,
  ): Promise<void> {
    await this.sql.exec(
      `UPDATE deployments SET status = 'in_progress', started_at = now(), previous_version = $2, previous_colour = $3,
                runs = 1, lease_token = $4, locked_until = now() + make_interval(secs => $5), updated_at = now()
          WHERE id = $1`,
      [deploymentId, live.version, live.colour, token, leaseSeconds],
      manager,
    );
  }

  async insertSteps(
    manager: EntityManager,
    deploymentId: string,
    from: number,
    steps: PlannedStep[],
  ): Promise<void> {
    await this.sql.exec(
      `INSERT INTO deployment_steps (deployment_id, position, name, action, phase, percent, colour, version, status)
       SELECT $1, $2 + s.ord, s.name, s.action, s.phase, s.percent, s.colour, s.version, 'pending'
         FROM unnest($3::varchar[], $4::varchar[], $5::varchar[], $6::int[], $7::varchar[], $8::varchar[])
              WITH ORDINALITY AS s(name, action, phase, percent, colour, version, ord)`,
      [
        deploymentId,
        from,
        steps.map((s) => s.name),
        steps.map((s) => s.action),
        steps.map((s) => s.phase),
        steps.map((s) => s.percent),
        steps.map((s) => s.colour),
        steps.map((s) => s.version),
      ],
      manager,
    );
  }

  /** Takes over a running deployment whose lease lapsed; false when someone holds it or it ended. */
  async claimLapsed(deploymentId: string, token: string, leaseSeconds: number): Promise<boolean> {
    const claimed = await this.sql.rows(
      `UPDATE deployments SET runs = runs + 1, lease_token = $2, locked_until = now() + make_interval(secs => $3), updated_at = now()
        WHERE id = $1 AND status = 'in_progress' AND locked_until < now() RETURNING id`,
      [deploymentId, token, leaseSeconds],
    );
    return claimed.length > 0;
  }

  /** Calls `act` for each running deployment whose lease lapsed; how many it acted on. */
  sweepLapsed(act: (id: string) => Promise<boolean>): Promise<number> {
    return sweepLapsed(this.sql, LAPSED_DEPLOYMENTS, act);
  }

  /** The deployment's environment, if it is still queued. */
  queuedEnvironment(
    manager: EntityManager,
    deploymentId: string,
  ): Promise<{ application_id: string; environment: string } | undefined> {
    return this.sql.one<{ application_id: string; environment: string }>(
      `SELECT application_id, environment FROM deployments WHERE id = $1 AND status = 'queued'`,
      [deploymentId],
      manager,
    );
  }

  /** The environment's queued deployments in the order they start (up to 20). */
  queuedIn(
    manager: EntityManager,
    applicationId: string,
    environment: string,
  ): Promise<Array<{ id: string }>> {
    return this.sql.rows<{ id: string }>(
      `SELECT id FROM deployments WHERE application_id = $1 AND environment = $2 AND status = 'queued'
        ORDER BY rollback_of IS NOT NULL DESC, queued_at, id LIMIT 20`,
      [applicationId, environment],
      manager,
    );
  }

  /** The environment's running deployment, else the last one that finished (recent: within `recentSeconds`). */
  lastStarted(
    manager: EntityManager,
    applicationId: string,
    environment: string,
    recentSeconds: number,
  ): Promise<LastStartedRow | undefined> {
    return this.sql.one<LastStartedRow>(
      `SELECT id, status = 'in_progress' AS running, finished_at > now() - make_interval(secs => $3) AS recent
         FROM deployments WHERE application_id = $1 AND environment = $2 AND started_at IS NOT NULL
        ORDER BY status = 'in_progress' DESC, finished_at DESC NULLS LAST LIMIT 1`,
      [applicationId, environment, recentSeconds],
      manager,
    );
  }

  /** Whether a deployment waits in the environment. */
  async hasQueued(manager: EntityManager, applicationId: string, environment: string): Promise<boolean> {
    const waiting = await this.sql.one(
      `SELECT 1 FROM deployments WHERE application_id = $1 AND environment = $2 AND status = 'queued' LIMIT 1`,
      [applicationId, environment],
      manager,
    );
    return waiting !== undefined;
  }

  // ---- the runner: running under the lease -------------------------------------------------------

  /** The deployment if this lease holds it. */
  leased(deploymentId: string, token: string): Promise<DeploymentRow | undefined> {
    return this.sql.one<DeploymentRow>(
      `SELECT ${DEPLOYMENT_COLUMNS} FROM deployments d WHERE d.id = $1 AND d.lease_token = $2`,
      [deploymentId, token],
    );
  }

  /** Locks the deployment if this lease still holds it; false when lost. */
  async holdsLease(manager: EntityManager, deploymentId: string, token: string): Promise<boolean> {
    const held = await this.sql.one(
      `SELECT 1 FROM deployments WHERE id = $1 AND lease_token = $2 FOR UPDATE`,
      [deploymentId, token],
      manager,
    );
    return held !== undefined;
  }

  async renew(deploymentId: string, token: string, leaseSeconds: number): Promise<boolean> {
    const rows = await this.sql.rows(
      `UPDATE deployments SET locked_until = now() + make_interval(secs => $3)
        WHERE id = $1 AND lease_token = $2 AND status = 'in_progress' RETURNING id`,
      [deploymentId, token, leaseSeconds],
    );
    return rows.length > 0;
  }

  /** Lets the lease lapse now, so a worker resumes the deployment at once. */
  async release(deploymentId: string, token: string): Promise<void> {
    await this.sql.exec(
      `UPDATE deployments SET locked_until = now() - interval '1 second' WHERE id = $1 AND lease_token = $2 AND status = 'in_progress'`,
      [deploymentId, token],
    );
  }

  /** Ends the deployment if this lease holds it; false when lost. */
  async finish(
    manager: EntityManager,
    deploymentId: string,
    token: string,
    outcome: 'succeeded' | 'failed',
    failureReason: string | null,
  ): Promise<boolean> {
    const updated = await this.sql.rows(
      `UPDATE deployments SET status = $3, failure_reason = $4, finished_at = now(), lease_token = NULL,
                locked_until = NULL, updated_at = now()
          WHERE id = $1 AND lease_token = $2 AND status = 'in_progress' RETURNING id`,
      [deploymentId, token, outcome, failureReason],
      manager,
    );
    return updated.length > 0;
  }

  steps(deploymentId: string): Promise<DeploymentStepRow[]> {
    return this.sql.rows<DeploymentStepRow>(
      `SELECT ${STEP_COLUMNS} FROM deployment_steps WHERE deployment_id = $1 ORDER BY position`,
      [deploymentId],
    );
  }

  /** Marks a step running (another attempt of it: `first` false) if this lease holds it; its attempts, or undefined when lost. */
  async markStepRunning(
    deploymentId: string,
    name: string,
    token: string,
    first: boolean,
  ): Promise<{ attempts: number } | undefined> {
    return this.sql.one<{ attempts: number }>(
      `UPDATE deployment_steps s SET status = 'running', attempts = s.attempts + 1, started_at = ${first ? 'now()' : 's.started_at'},
                finished_at = NULL, error = NULL
           FROM deployments d
          WHERE s.deployment_id = $1 AND s.name = $2 AND d.id = s.deployment_id AND d.lease_token = $3
          RETURNING s.attempts`,
      [deploymentId, name, token],
    );
  }

  /** Records a step's outcome if this lease holds it; false when lost. */
  async recordStep(
    deploymentId: string,
    name: string,
    token: string,
    outcome: { status: 'succeeded' | 'failed'; output: string | null; error: string | null },
  ): Promise<boolean> {
    const recorded = await this.sql.one(
      `UPDATE deployment_steps s SET status = $4, finished_at = now(), output = $5, error = $6
         FROM deployments d
        WHERE s.deployment_id = $1 AND s.name = $2 AND d.id = s.deployment_id AND d.lease_token = $3
        RETURNING 1`,
      [deploymentId, name, token, outcome.status, outcome.output, outcome.error],
    );
    return recorded !== undefined;
  }

  async skipSteps(manager: EntityManager, deploymentId: string, names: string[]): Promise<void> {
    await this.sql.exec(
      `UPDATE deployment_steps SET status = 'skipped' WHERE deployment_id = $1 AND name = ANY($2)`,
      [deploymentId, names],
      manager,
    );
  }

  /** Fails the step a lost worker died in (the running one, else the next pending). */
  async failCurrentStep(manager: EntityManager, deploymentId: string, message: string): Promise<void> {
    await this.sql.exec(
      `UPDATE deployment_steps SET status = 'failed', finished_at = now(), error = $2
          WHERE deployment_id = $1 AND position = (
            SELECT position FROM deployment_steps WHERE deployment_id = $1 AND status IN ('running', 'pending')
             ORDER BY status = 'running' DESC, position LIMIT 1)`,
      [deploymentId, message],
      manager,
    );
  }
}
