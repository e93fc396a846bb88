import { Injectable } from '@nestjs/common';
import { AppError, Conditions, newId, Page, pageOf, Permission, Principal, UnitOfWork } from '@app/core';
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
import { ApplicationsRepository } from './applications.repository';
import { DeployTargets } from './targets/deploy-targets';

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
    private readonly applications: ApplicationsRepository,
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
      const inserted = await this.applications.insert(tx.manager, {
        id,
        projectId: project.id,
        name: dto.name,
        description: dto.description ?? null,
        targetType: target.type,
        targetConfig: target.config,
        targetSecret: target.secret,
        createdBy: actor.userId,
      });
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
    const { rows, total } = await this.applications.page(where, query.projectId, query);
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
    const row = await this.applications.find(applicationId, manager);
    const access = row ? await this.access.readable(actor, row.project_id, manager).catch(() => null) : null;
    if (!row || !access) throw AppError.notFound('application', applicationId);
    return { row, access };
  }

  private environments(ids: string[]): Promise<ApplicationEnvironmentRow[]> {
    if (!ids.length) return Promise.resolve([]);
    return this.applications.environments(ids);
  }
}
