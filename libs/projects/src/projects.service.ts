import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  AppError,
  containsPattern,
  FieldError,
  iso,
  newId,
  OutboxService,
  Page,
  pageOf,
  Permission,
  Principal,
  skipTake,
  Tx,
  UnitOfWork,
  uniqueViolation,
} from '@app/core';
import { AuditLogService, UserEntity } from '@app/users';
import { DataSource, EntityManager, In, IsNull } from 'typeorm';
import { ProjectAccess, ProjectAccessService } from './project-access.service';
import { ProjectMemberEntity } from './project-member.entity';
import { ProjectStatsEntity } from './project-stats.entity';
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

const SORT_COLUMNS: Record<ListProjectsQueryDto['sortBy'], string> = {
  createdAt: 'p.created_at',
  updatedAt: 'p.updated_at',
  name: 'p.name',
  key: 'p.key',
};

@Injectable()
export class ProjectsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
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
        await this.assertUsersExist(tx.manager, [
          { field: 'ownerId', ids: [dto.ownerId] },
          { field: 'members', ids: memberIds },
        ]);
        await tx.manager.insert(ProjectEntity, {
          id,
          name: dto.name,
          key: dto.key,
          description: dto.description ?? null,
          ownerId: dto.ownerId,
          status: ProjectStatus.Active,
          visibility: dto.visibility ?? ProjectVisibility.Private,
          archivedAt: null,
        });
        await tx.manager.insert(ProjectStatsEntity, { projectId: id });
        // One statement, so owner and members share a timestamp order (owner inserted first).
        await tx.manager.insert(ProjectMemberEntity, [
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
        const dtoOut = await this.load(tx.manager, id);
        await this.outbox.publish(tx, 'project.created', { project: dtoOut, createdBy: actor.userId }, id);
      });
    } catch (err) {
      if (uniqueViolation(err, 'projects_key_key') !== null) {
        throw AppError.conflict(`A project with key ${dto.key} already exists`, { field: 'key' });
      }
      throw err;
    }
    return this.load(this.dataSource.manager, id);
  }

  async list(actor: Principal, query: ListProjectsQueryDto): Promise<Page<ProjectDto>> {
    const visible = this.access.visibilityCondition(actor);
    const qb = this.dataSource.manager
      .createQueryBuilder(ProjectEntity, 'p')
      .where(visible.sql, visible.params);
    if (query.status) qb.andWhere('p.status = :status', { status: query.status });
    if (query.visibility) qb.andWhere('p.visibility = :visibility', { visibility: query.visibility });
    if (query.role === 'owner') qb.andWhere('p.owner_id = :me', { me: actor.userId });
    if (query.role === 'member') {
      qb.andWhere(
        `EXISTS (SELECT 1 FROM project_members rm WHERE rm.project_id = p.id AND rm.user_id = :me AND rm.role = 'member')`,
        {
          me: actor.userId,
        },
      );
    }
    if (query.search) {
      const like = containsPattern(query.search);
      qb.andWhere('(p.name ILIKE :like OR p.key ILIKE :like)', { like });
    }
    const order = query.sortOrder === 'asc' ? 'ASC' : 'DESC';
    const { skip, take } = skipTake(query);
    const [rows, total] = await qb
      .orderBy(SORT_COLUMNS[query.sortBy], order)
      .addOrderBy('p.id', order)
      .skip(skip)
      .take(take)
      .getManyAndCount();
    return pageOf(await this.mapMany(this.dataSource.manager, rows), total, query);
  }

  async get(actor: Principal, projectId: string): Promise<ProjectDto> {
    const { project } = await this.access.readable(actor, projectId);
    return (await this.mapMany(this.dataSource.manager, [project]))[0];
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
        await this.assertUsersExist(tx.manager, [{ field: 'ownerId', ids: [dto.ownerId] }]);
        changes.ownerId = dto.ownerId;
        await tx.manager.update(
          ProjectMemberEntity,
          { projectId, userId: project.ownerId },
          { role: 'member' },
        );
        await tx.manager.upsert(ProjectMemberEntity, { projectId, userId: dto.ownerId, role: 'owner' }, [
          'projectId',
          'userId',
        ]);
      }
      if (!Object.keys(changes).length) return;
      await tx.manager.update(ProjectEntity, { id: projectId }, changes);
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
      await tx.manager.update(
        ProjectEntity,
        { id: projectId },
        { status: ProjectStatus.Archived, archivedAt: new Date() },
      );
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
    const rows: Array<{
      user_id: string;
      role: 'owner' | 'member';
      added_at: Date;
      username: string;
      full_name: string;
    }> = await this.dataSource.query(
      `SELECT m.user_id, m.role, m.added_at, u.username, u.full_name
         FROM project_members m JOIN users u ON u.id = m.user_id
        WHERE m.project_id = $1 ORDER BY (m.role = 'owner') DESC, m.added_at, m.user_id`,
      [projectId],
    );
    return rows.map((r) => ({
      userId: r.user_id,
      role: r.role,
      username: r.username,
      fullName: r.full_name,
      addedAt: iso(r.added_at),
    }));
  }

  async addMember(actor: Principal, projectId: string, dto: AddMemberDto): Promise<ProjectMemberDto> {
    await this.uow.run(async (tx) => {
      await this.lockWritable(tx, actor, projectId);
      await this.assertUsersExist(tx.manager, [{ field: 'userId', ids: [dto.userId] }]);
      // The project row is locked, so this check and the insert cannot interleave with another add.
      if (await tx.manager.exists(ProjectMemberEntity, { where: { projectId, userId: dto.userId } })) {
        throw AppError.conflict('This user is already a member of the project', { userId: dto.userId });
      }
      await tx.manager.insert(ProjectMemberEntity, { projectId, userId: dto.userId, role: 'member' });
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
      const result = await tx.manager.delete(ProjectMemberEntity, { projectId, userId });
      if (!result.affected) throw AppError.notFound('member', userId);
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
    await tx.manager.query(`SELECT 1 FROM projects WHERE id = $1 FOR UPDATE`, [projectId]);
    return access;
  }

  private async assertUsersExist(
    manager: EntityManager,
    groups: Array<{ field: string; ids: string[] }>,
  ): Promise<void> {
    const all = [...new Set(groups.flatMap((g) => g.ids))];
    if (!all.length) return;
    const found = await manager.find(UserEntity, {
      where: { id: In(all), deletedAt: IsNull() },
      select: { id: true },
    });
    const known = new Set(found.map((u) => u.id));
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

  private async load(manager: EntityManager, id: string): Promise<ProjectDto> {
    const project = await manager.findOneByOrFail(ProjectEntity, { id });
    return (await this.mapMany(manager, [project]))[0];
  }

  private async mapMany(manager: EntityManager, projects: ProjectEntity[]): Promise<ProjectDto[]> {
    if (!projects.length) return [];
    const ids = projects.map((p) => p.id);
    const [members, stats] = await Promise.all([
      manager.find(ProjectMemberEntity, { where: { projectId: In(ids) } }),
      manager.find(ProjectStatsEntity, { where: { projectId: In(ids) } }),
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
