import { Injectable } from '@nestjs/common';
import {
  AppError,
  Conditions,
  newId,
  Page,
  pageClause,
  pageOf,
  Permission,
  Principal,
  Sql,
  UnitOfWork,
} from '@app/core';
import { ProjectAccess, ProjectAccessService } from '@app/projects';
import { AuditLogService } from '@app/users';
import { EntityManager } from 'typeorm';
import {
  ApplicationDto,
  ApplicationEnvironmentRow,
  ApplicationRow,
  CreateApplicationDto,
  CreatedApplicationDto,
  ListApplicationsQueryDto,
  mapApplication,
} from './application.dto';
import { DeployTargets } from './targets/deploy-targets';

const COLUMNS = `a.id, a.project_id, a.name, a.description, a.target_type, a.target_config, a.created_by, a.created_at, a.updated_at`;

export interface VisibleApplication {
  row: ApplicationRow;
  access: ProjectAccess;
}

/**
 * Applications and their deploy targets. Everyone who can see the project reads them; only
 * members whose role may write applications (devops, and administrators anywhere) define them,
 * since a script target runs a command on the workers.
 */
@Injectable()
export class ApplicationsService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly access: ProjectAccessService,
    private readonly targets: DeployTargets,
    private readonly audit: AuditLogService,
    private readonly sql: Sql,
  ) {}

  async create(actor: Principal, dto: CreateApplicationDto): Promise<CreatedApplicationDto> {
    const target = await this.targets.parse(dto.target);
    const id = newId('application');
    const row = await this.uow.run(async (tx) => {
      const { project } = await this.access.writable(
        actor,
        dto.projectId,
        Permission.ApplicationsWrite,
        tx.manager,
      );
      const [inserted]: ApplicationRow[] = await tx.manager.query(
        `INSERT INTO applications AS a (id, project_id, name, description, target_type, target_config, target_secret, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (project_id, name) DO NOTHING RETURNING ${COLUMNS}`,
        [
          id,
          project.id,
          dto.name,
          dto.description ?? null,
          target.type,
          target.config,
          target.secret,
          actor.userId,
        ],
      );
      if (!inserted)
        throw AppError.conflict('This project already has an application of that name', { name: dto.name });
      await this.audit.record(tx, {
        actorId: actor.userId,
        action: 'application.created',
        targetType: 'application',
        targetId: id,
        details: { projectId: project.id, name: dto.name, target: { type: target.type, ...target.config } },
      });
      return inserted;
    });
    const created = mapApplication(row, []);
    if (target.secret) created.target = { ...created.target, secret: target.secret };
    return created;
  }

  async list(actor: Principal, query: ListApplicationsQueryDto): Promise<Page<ApplicationDto>> {
    const where = this.access.restrictToVisible(new Conditions(), actor);
    if (query.projectId) where.and((v) => `a.project_id = ${v(query.projectId)}`);
    const { rows, total } = await this.sql.page<ApplicationRow>(
      COLUMNS,
      'FROM applications a JOIN projects p ON p.id = a.project_id',
      where,
      pageClause(query, 'a.created_at', 'a.id'),
    );
    const environments = await this.environments(rows.map((r) => r.id));
    return pageOf(
      rows.map((r) => mapApplication(r, environments)),
      total,
      query,
    );
  }

  async get(actor: Principal, applicationId: string): Promise<ApplicationDto> {
    const { row } = await this.visible(actor, applicationId);
    return mapApplication(row, await this.environments([row.id]));
  }

  /** The application and its project's access if the caller may see it; 404 otherwise. */
  async visible(
    actor: Principal,
    applicationId: string,
    manager?: EntityManager,
  ): Promise<VisibleApplication> {
    const text = `SELECT ${COLUMNS} FROM applications a WHERE a.id = $1`;
    const [row]: ApplicationRow[] = manager
      ? await manager.query(text, [applicationId])
      : await this.sql.rows(text, [applicationId]);
    const access = row ? await this.access.readable(actor, row.project_id, manager).catch(() => null) : null;
    if (!row || !access) throw AppError.notFound('application', applicationId);
    return { row, access };
  }

  private environments(ids: string[]): Promise<ApplicationEnvironmentRow[]> {
    if (!ids.length) return Promise.resolve([]);
    return this.sql.rows<ApplicationEnvironmentRow>(
      `SELECT application_id, environment, live_version, live_colour, live_deployment_id, updated_at
         FROM application_environments WHERE application_id = ANY($1)`,
      [ids],
    );
  }
}
