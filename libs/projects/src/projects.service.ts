import { Injectable } from '@nestjs/common';
import {
  AppError,
  FieldError,
  newId,
  OutboxService,
  Page,
  pageOf,
  Permission,
  Principal,
  Tx,
  UnitOfWork,
  uniqueViolation,
} from '@app/core';
import { AuditLogService, UsersService } from '@app/users';
import { ProjectAccess, ProjectAccessService } from './project-access.service';
import { ProjectStatsRepository } from './project-stats.repository';
import {
  AddMemberDto,
  CreateProjectDto,
  ListProjectsQueryDto,
  mapProject,
  ProjectDto,
  ProjectMemberDto,
  UpdateProjectDto,
} from './project.dto';
import { ProjectEntity, ProjectStatus, ProjectVisibility } from './project.entity';
import { ProjectsRepository } from './projects.repository';

@Injectable()
export class ProjectsService {
  constructor(
    private readonly projects: ProjectsRepository,
    private readonly stats: ProjectStatsRepository,
    private readonly users: UsersService,
    private readonly uow: UnitOfWork,
    private readonly access: ProjectAccessService,
    private readonly outbox: OutboxService,
    private readonly audit: AuditLogService,
  ) {}

  async create(actor: Principal, dto: CreateProjectDto): Promise<ProjectDto> {
    const memberIds = [...new Set((dto.members ?? []).filter((id) => id !== dto.ownerId))];
    const id = newId('project');
    try {
      await this.uow.run(async (tx) => {
        await this.assertUsersExist(tx, [
          { field: 'ownerId', ids: [dto.ownerId] },
          { field: 'members', ids: memberIds },
        ]);
        await this.projects.insert(tx.manager, {
          id,
          name: dto.name,
          key: dto.key,
          description: dto.description ?? null,
          ownerId: dto.ownerId,
          status: ProjectStatus.Active,
          visibility: dto.visibility ?? ProjectVisibility.Private,
          archivedAt: null,
        });
        await this.stats.insert(tx.manager, id);
        // One statement, so owner and members share a timestamp order (owner inserted first).
        await this.projects.insertMembers(tx.manager, [
          { projectId: id, userId: dto.ownerId, role: 'owner' },
          ...memberIds.map((userId) => ({ projectId: id, userId, role: 'member' as const })),
        ]);
        await this.audit.record(tx, {
          actorId: actor.userId,
          action: 'project.created',
          targetType: 'project',
          targetId: id,
          details: { key: dto.key },
        });
        const dtoOut = await this.load(id, tx);
        await this.outbox.publish(tx, 'project.created', { project: dtoOut, createdBy: actor.userId }, id);
      });
    } catch (err) {
      if (uniqueViolation(err, 'projects_key_key') !== null) {
        throw AppError.conflict(`A project with key ${dto.key} already exists`, { field: 'key' });
      }
      throw err;
    }
    return this.load(id);
  }

  async list(actor: Principal, query: ListProjectsQueryDto): Promise<Page<ProjectDto>> {
    const [rows, total] = await this.projects.list(this.access.viewerOf(actor), actor.userId, query);
    return pageOf(await this.mapMany(rows), total, query);
  }

  async get(actor: Principal, projectId: string): Promise<ProjectDto> {
    const { project } = await this.access.readable(actor, projectId);
    return (await this.mapMany([project]))[0];
  }

  async update(actor: Principal, projectId: string, dto: UpdateProjectDto): Promise<ProjectDto> {
    await this.uow.run(async (tx) => {
      const access = await this.lockWritable(tx, actor, projectId);
      const { project } = access;
      const changes: Partial<ProjectEntity> = {};
      if (dto.name !== undefined && dto.name !== project.name) changes.name = dto.name;
      if (dto.description !== undefined && dto.description !== project.description)
        changes.description = dto.description;
      if (dto.visibility !== undefined && dto.visibility !== project.visibility)
        changes.visibility = dto.visibility;
      if (dto.ownerId !== undefined && dto.ownerId !== project.ownerId) {
        await this.assertUsersExist(tx, [{ field: 'ownerId', ids: [dto.ownerId] }]);
        changes.ownerId = dto.ownerId;
        await this.projects.setMemberRole(tx.manager, projectId, project.ownerId, 'member');
        await this.projects.upsertMember(tx.manager, { projectId, userId: dto.ownerId, role: 'owner' });
      }
      if (!Object.keys(changes).length) return;
      await this.projects.update(tx.manager, projectId, changes);
      await this.audit.record(tx, {
        actorId: actor.userId,
        action: 'project.updated',
        targetType: 'project',
        targetId: projectId,
        details: { changes },
      });
    });
    return this.get(actor, projectId);
  }

  /** DELETE archives: the project and its tasks stay readable, nothing under it can change. */
  async archive(actor: Principal, projectId: string): Promise<void> {
    await this.uow.run(async (tx) => {
      const access = await this.access.readable(actor, projectId, tx.manager);
      if (access.project.status === ProjectStatus.Archived) return;
      this.access.assertCanChange(actor, access, Permission.ProjectsWrite);
      await this.projects.update(tx.manager, projectId, {
        status: ProjectStatus.Archived,
        archivedAt: new Date(),
      });
      await this.audit.record(tx, {
        actorId: actor.userId,
        action: 'project.archived',
        targetType: 'project',
        targetId: projectId,
      });
    });
  }

  async members(actor: Principal, projectId: string): Promise<ProjectMemberDto[]> {
    await this.access.readable(actor, projectId);
    return this.projects.members(projectId);
  }

  async addMember(actor: Principal, projectId: string, dto: AddMemberDto): Promise<ProjectMemberDto> {
    await this.uow.run(async (tx) => {
      await this.lockWritable(tx, actor, projectId);
      await this.assertUsersExist(tx, [{ field: 'userId', ids: [dto.userId] }]);
      // The project row is locked, so this check and the insert cannot interleave with another add.
      if (await this.projects.isMember(tx.manager, projectId, dto.userId)) {
        throw AppError.conflict('This user is already a member of the project', { userId: dto.userId });
      }
      await this.projects.insertMembers(tx.manager, { projectId, userId: dto.userId, role: 'member' });
      await this.audit.record(tx, {
        actorId: actor.userId,
        action: 'project.member_added',
        targetType: 'project',
        targetId: projectId,
        details: { userId: dto.userId },
      });
    });
    return (await this.members(actor, projectId)).find((m) => m.userId === dto.userId)!;
  }

  async removeMember(actor: Principal, projectId: string, userId: string): Promise<void> {
    await this.uow.run(async (tx) => {
      const { project } = await this.lockWritable(tx, actor, projectId);
      if (userId === project.ownerId)
        throw AppError.conflict('The owner cannot be removed; transfer ownership first', { userId });
      if (!(await this.projects.deleteMember(tx.manager, projectId, userId)))
        throw AppError.notFound('member', userId);
      await this.audit.record(tx, {
        actorId: actor.userId,
        action: 'project.member_removed',
        targetType: 'project',
        targetId: projectId,
        details: { userId },
      });
    });
  }

  // ---- helpers --------------------------------------------------------------------------------

  /** Locks the project row so concurrent membership/ownership changes serialise. */
  private async lockWritable(tx: Tx, actor: Principal, projectId: string): Promise<ProjectAccess> {
    const access = await this.access.writable(actor, projectId, Permission.ProjectsWrite, tx.manager);
    await this.projects.lock(tx.manager, projectId);
    return access;
  }

  private async assertUsersExist(tx: Tx, groups: Array<{ field: string; ids: string[] }>): Promise<void> {
    const all = [...new Set(groups.flatMap((g) => g.ids))];
    if (!all.length) return;
    const known = await this.users.existingIds(all, tx);
    const fields: FieldError[] = [];
    for (const g of groups) {
      g.ids.forEach((id, i) => {
        if (!known.has(id))
          fields.push({
            field: g.field === 'members' ? `members[${i}]` : g.field,
            message: `user ${id} does not exist`,
            code: 'unknown_user',
          });
      });
    }
    if (fields.length) throw AppError.validation(fields);
  }

  /** The project as the API shows it, through the transaction when given. */
  private async load(id: string, tx?: Tx): Promise<ProjectDto> {
    const project = await this.projects.findByIdOrFail(id, tx?.manager);
    return (await this.mapMany([project], tx))[0];
  }

  private async mapMany(projects: ProjectEntity[], tx?: Tx): Promise<ProjectDto[]> {
    if (!projects.length) return [];
    const ids = projects.map((p) => p.id);
    const [members, stats] = await Promise.all([
      this.projects.membersOf(ids, tx?.manager),
      this.stats.ofProjects(ids, tx?.manager),
    ]);
    return projects.map((p) =>
      mapProject(
        p,
        members.filter((m) => m.projectId === p.id),
        stats.find((s) => s.projectId === p.id),
      ),
    );
  }
}
