import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { containsPattern, iso, skipTake, Sql } from '@app/core';
import { EntityManager, In, Repository } from 'typeorm';
import { visibleProjects } from './project-access.repository';
import { ProjectMemberEntity, ProjectMemberRole } from './project-member.entity';
import { ListProjectsQueryDto, ProjectMemberDto } from './project.dto';
import { ProjectEntity } from './project.entity';

const SORT_COLUMNS: Record<ListProjectsQueryDto['sortBy'], string> = {
  createdAt: 'p.created_at',
  updatedAt: 'p.updated_at',
  name: 'p.name',
  key: 'p.key',
};

/** A member with their user's names (ProjectsRepository.members). */
export interface MemberRow {
  user_id: string;
  role: ProjectMemberRole;
  added_at: Date;
  username: string;
  full_name: string;
}

export function mapMemberRow(r: MemberRow): ProjectMemberDto {
  return {
    userId: r.user_id,
    role: r.role,
    username: r.username,
    fullName: r.full_name,
    addedAt: iso(r.added_at),
  };
}

/** A new project's columns (created_at/updated_at come from the database). */
export type NewProject = Omit<ProjectEntity, 'createdAt' | 'updatedAt' | 'owner'>;
export type NewMember = Pick<ProjectMemberEntity, 'projectId' | 'userId' | 'role'>;

/**
 * Every statement on the projects and project_members tables (but the access reads, see
 * ProjectAccessRepository). Without a manager a statement runs outside any transaction.
 */
@Injectable()
export class ProjectsRepository {
  constructor(
    @InjectRepository(ProjectEntity) private readonly projects: Repository<ProjectEntity>,
    private readonly sql: Sql,
  ) {}

  async insert(manager: EntityManager, project: NewProject): Promise<void> {
    await manager.insert(ProjectEntity, project);
  }

  /** One page of the projects `viewerId` may see (all of them for null), with the total. */
  list(
    viewerId: string | null,
    actorId: string,
    query: ListProjectsQueryDto,
  ): Promise<[ProjectEntity[], number]> {
    const visible =
      viewerId === null
        ? { sql: 'TRUE', params: {} }
        : { sql: visibleProjects(':viewerId'), params: { viewerId } };
    const qb = this.projects.manager
      .createQueryBuilder(ProjectEntity, 'p')
      .where(visible.sql, visible.params);
    if (query.status) qb.andWhere('p.status = :status', { status: query.status });
    if (query.visibility) qb.andWhere('p.visibility = :visibility', { visibility: query.visibility });
    if (query.role === 'owner') qb.andWhere('p.owner_id = :me', { me: actorId });
    if (query.role === 'member') {
      qb.andWhere(
        `EXISTS (SELECT 1 FROM project_members rm WHERE rm.project_id = p.id AND rm.user_id = :me AND rm.role = 'member')`,
        {
          me: actorId,
        },
      );
    }
    if (query.search) {
      const like = containsPattern(query.search);
      qb.andWhere('(p.name ILIKE :like OR p.key ILIKE :like)', { like });
    }
    const order = query.sortOrder === 'asc' ? 'ASC' : 'DESC';
    const { skip, take } = skipTake(query);
    return qb
      .orderBy(SORT_COLUMNS[query.sortBy], order)
      .addOrderBy('p.id', order)
      .skip(skip)
      .take(take)
      .getManyAndCount();
  }

  findByIdOrFail(projectId: string, manager?: EntityManager): Promise<ProjectEntity> {
    return this.manager(manager).findOneByOrFail(ProjectEntity, { id: projectId });
  }

  async update(manager: EntityManager, projectId: string, changes: Partial<ProjectEntity>): Promise<void> {
    await manager.update(ProjectEntity, { id: projectId }, changes);
  }

  /** Clears the project's main pipeline when it is `pipelineId` (the pipeline is being deleted). */
  async clearPipeline(manager: EntityManager, projectId: string, pipelineId: string): Promise<void> {
    await manager.update(
      ProjectEntity,
      { id: projectId, repositoryPipelineId: pipelineId },
      { repositoryPipelineId: null },
    );
  }

  /** Locks the project row until the transaction ends, so writers of its members serialise. */
  async lock(manager: EntityManager, projectId: string): Promise<void> {
    await this.sql.rows(`SELECT 1 FROM projects WHERE id = $1 FOR UPDATE`, [projectId], manager);
  }

  // ---- project_members ------------------------------------------------------------------------

  /** The members with their names, the owner first, then in the order they joined. */
  async members(projectId: string): Promise<ProjectMemberDto[]> {
    const rows = await this.sql.rows<MemberRow>(
      `SELECT m.user_id, m.role, m.added_at, u.username, u.full_name
         FROM project_members m JOIN users u ON u.id = m.user_id
        WHERE m.project_id = $1 ORDER BY (m.role = 'owner') DESC, m.added_at, m.user_id`,
      [projectId],
    );
    return rows.map(mapMemberRow);
  }

  membersOf(projectIds: string[], manager?: EntityManager): Promise<ProjectMemberEntity[]> {
    return this.manager(manager).find(ProjectMemberEntity, { where: { projectId: In(projectIds) } });
  }

  isMember(manager: EntityManager, projectId: string, userId: string): Promise<boolean> {
    return manager.exists(ProjectMemberEntity, { where: { projectId, userId } });
  }

  /** Inserts members in one statement (so they share a timestamp order: the first row first). */
  async insertMembers(manager: EntityManager, members: NewMember | NewMember[]): Promise<void> {
    await manager.insert(ProjectMemberEntity, members);
  }

  async setMemberRole(
    manager: EntityManager,
    projectId: string,
    userId: string,
    role: ProjectMemberRole,
  ): Promise<void> {
    await manager.update(ProjectMemberEntity, { projectId, userId }, { role });
  }

  /** Makes the user a member with this role, whether or not they were one. */
  async upsertMember(manager: EntityManager, member: NewMember): Promise<void> {
    await manager.upsert(ProjectMemberEntity, member, ['projectId', 'userId']);
  }

  /** Removes a membership; false when there was none. */
  async deleteMember(manager: EntityManager, projectId: string, userId: string): Promise<boolean> {
    const result = await manager.delete(ProjectMemberEntity, { projectId, userId });
    return Boolean(result.affected);
  }

  private manager(manager?: EntityManager): EntityManager {
    return manager ?? this.projects.manager;
  }
}
