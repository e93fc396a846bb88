import { Injectable } from '@nestjs/common';
import { Conditions, pageClause, PageQueryDto, Sql } from '@app/core';
import { EntityManager } from 'typeorm';
import { ApplicationEnvironmentRow, ApplicationRow } from './application.dto';
import { Colour } from './deployment-plan';

const COLUMNS = `a.id, a.project_id, a.name, a.description, a.target_type, a.target_config, a.created_by, a.created_at, a.updated_at`;

/** An application's deploy target as stored (the secret included: for the runner only). */
export interface ApplicationTargetRow {
  id: string;
  name: string;
  target_type: string;
  target_config: Record<string, unknown>;
  target_secret: string | null;
}

/** What is live in an application's environment. */
export interface LiveVersion {
  version: string | null;
  colour: Colour | null;
}

/**
 * The applications and application_environments tables. An environment's row is also the lock
 * that serialises starting and finishing deployments there. Without a manager a statement runs
 * straight on the pool.
 */
@Injectable()
export class ApplicationsRepository {
  constructor(private readonly sql: Sql) {}

  /** The new application, or undefined when the project has one of that name. */
  insert(
    manager: EntityManager,
    a: {
      id: string;
      projectId: string;
      name: string;
      description: string | null;
      targetType: string;
      targetConfig: Record<string, unknown>;
      targetSecret: string | null;
      createdBy: string;
    },
  ): Promise<ApplicationRow | undefined> {
    return this.sql.one<ApplicationRow>(
      `INSERT INTO applications AS a (id, project_id, name, description, target_type, target_config, target_secret, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (project_id, name) DO NOTHING RETURNING ${COLUMNS}`,
      [a.id, a.projectId, a.name, a.description, a.targetType, a.targetConfig, a.targetSecret, a.createdBy],
      manager,
    );
  }

  /** One page of applications in the visible projects (`where`: restrictToVisible's conditions), and the total. */
  page(
    where: Conditions,
    projectId: string | undefined,
    query: Pick<PageQueryDto, 'page' | 'pageSize' | 'sortOrder'>,
  ): Promise<{ rows: ApplicationRow[]; total: number }> {
    if (projectId) where.and((v) => `a.project_id = ${v(projectId)}`);
    return this.sql.page<ApplicationRow>(
      COLUMNS,
      'FROM applications a JOIN projects p ON p.id = a.project_id',
      where,
      pageClause(query, 'a.created_at', 'a.id'),
    );
  }

  find(applicationId: string, manager?: EntityManager): Promise<ApplicationRow | undefined> {
    return this.sql.one<ApplicationRow>(
      `SELECT ${COLUMNS} FROM applications a WHERE a.id = $1`,
      [applicationId],
      manager,
    );
  }

  /** The application's deploy target, secret included. */
  target(applicationId: string): Promise<ApplicationTargetRow | undefined> {
    return this.sql.one<ApplicationTargetRow>(
      `SELECT id, name, target_type, target_config, target_secret FROM applications WHERE id = $1`,
      [applicationId],
    );
  }

  /** The environments of these applications. */
  environments(ids: string[]): Promise<ApplicationEnvironmentRow[]> {
    return this.sql.rows<ApplicationEnvironmentRow>(
      `SELECT application_id, environment, live_version, live_colour, live_deployment_id, updated_at
         FROM application_environments WHERE application_id = ANY($1)`,
      [ids],
    );
  }

  /** Makes sure the environment has its row (the lock of its deployments). */
  async ensureEnvironment(manager: EntityManager, applicationId: string, environment: string): Promise<void> {
    await this.sql.exec(
      `INSERT INTO application_environments (application_id, environment) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
      [applicationId, environment],
      manager,
    );
  }

  /** Locks the environment's row (made if missing) and answers what is live there. */
  async lockEnvironment(
    manager: EntityManager,
    applicationId: string,
    environment: string,
  ): Promise<LiveVersion> {
    await this.ensureEnvironment(manager, applicationId, environment);
    const row = await this.sql.one<{ live_version: string | null; live_colour: Colour | null }>(
      `SELECT live_version, live_colour FROM application_environments WHERE application_id = $1 AND environment = $2 FOR UPDATE`,
      [applicationId, environment],
      manager,
    );
    return { version: row!.live_version, colour: row!.live_colour };
  }

  /** Locks the environment's row if it exists (nothing starts or ends there meanwhile). */
  async lockExistingEnvironment(
    manager: EntityManager,
    applicationId: string,
    environment: string,
  ): Promise<void> {
    await this.sql.rows(
      `SELECT 1 FROM application_environments WHERE application_id = $1 AND environment = $2 FOR UPDATE`,
      [applicationId, environment],
      manager,
    );
  }

  /** Locks the environment's row unless another transaction holds it; true when locked. */
  async tryLockEnvironment(
    manager: EntityManager,
    applicationId: string,
    environment: string,
  ): Promise<boolean> {
    const locked = await this.sql.one(
      `SELECT 1 FROM application_environments WHERE application_id = $1 AND environment = $2 FOR UPDATE SKIP LOCKED`,
      [applicationId, environment],
      manager,
    );
    return locked !== undefined;
  }

  /** Records what a successful deployment made live (the colour stays when it switched none). */
  async setLive(
    manager: EntityManager,
    applicationId: string,
    environment: string,
    live: { version: string; colour: Colour | null; deploymentId: string },
  ): Promise<void> {
    await this.sql.exec(
      `UPDATE application_environments
              SET live_version = $3, live_colour = COALESCE($4, live_colour), live_deployment_id = $5, updated_at = now()
            WHERE application_id = $1 AND environment = $2`,
      [applicationId, environment, live.version, live.colour, live.deploymentId],
      manager,
    );
  }
}
