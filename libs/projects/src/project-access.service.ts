import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AppError, Permission, Principal } from '@app/core';
import { DataSource, EntityManager } from 'typeorm';
import { ProjectMemberRole } from './project-member.entity';
import { ProjectEntity, ProjectStatus, ProjectVisibility } from './project.entity';

export interface ProjectAccess {
  project: ProjectEntity;
  /** The caller's membership, or null. */
  memberRole: ProjectMemberRole | null;
}

/**
 * The one place that decides who may see and change a project and everything under it
 * (CONTRACT.md): administrators everything; others see a project when they are a member or it
 * is internal/public, and change it only as a member whose role grants the permission. A project
 * the caller may not see answers 404, exactly as one that does not exist.
 */
@Injectable()
export class ProjectAccessService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** The project if the caller may see it; 404 otherwise. */
  async readable(principal: Principal, projectId: string, manager?: EntityManager): Promise<ProjectAccess> {
    const access = await this.load(principal, { id: projectId }, manager);
    if (!access || !this.canSee(principal, access)) throw AppError.notFound('project', projectId);
    return access;
  }

  /** By key (ECOM) instead of id, with the same rule. */
  async readableByKey(principal: Principal, key: string, manager?: EntityManager): Promise<ProjectAccess> {
    const access = await this.load(principal, { key }, manager);
    if (!access || !this.canSee(principal, access)) throw AppError.notFound('project', key);
    return access;
  }

  /**
   * The project if the caller may change it with `permission`: 404 when they may not see it, 403
   * when they see it but are not a member (or their role lacks the permission), 409 when it is
   * archived. Pass a transaction's manager with `lock` to serialise writers.
   */
  async writable(
    principal: Principal,
    projectId: string,
    permission: Permission,
    manager?: EntityManager,
  ): Promise<ProjectAccess> {
    const access = await this.readable(principal, projectId, manager);
    this.assertCanChange(principal, access, permission);
    return access;
  }

  assertCanChange(principal: Principal, access: ProjectAccess, permission: Permission): void {
    const admin = principal.can(Permission.ProjectsAdmin);
    if (!admin && (!access.memberRole || !principal.can(permission))) {
      throw AppError.forbidden('Only members of this project whose role allows it may change it', {
        required: permission,
      });
    }
    if (access.project.status === ProjectStatus.Archived) {
      throw AppError.conflict('This project is archived; it is read-only', { projectId: access.project.id });
    }
  }

  canSee(principal: Principal, access: ProjectAccess): boolean {
    return (
      principal.can(Permission.ProjectsAdmin) ||
      access.memberRole !== null ||
      access.project.visibility === ProjectVisibility.Internal ||
      access.project.visibility === ProjectVisibility.Public
    );
  }

  /** SQL for "projects the caller may see", for list queries (alias `p`, parameter :viewerId). */
  visibilityCondition(principal: Principal): { sql: string; params: Record<string, unknown> } {
    if (principal.can(Permission.ProjectsAdmin)) return { sql: 'TRUE', params: {} };
    return {
      sql: `(p.visibility IN ('internal', 'public') OR EXISTS (SELECT 1 FROM project_members vm WHERE vm.project_id = p.id AND vm.user_id = :viewerId))`,
      params: { viewerId: principal.userId },
    };
  }

  private async load(
    principal: Principal,
    where: { id: string } | { key: string },
    manager?: EntityManager,
  ): Promise<ProjectAccess | null> {
    const m = manager ?? this.dataSource.manager;
    const qb = m
      .createQueryBuilder(ProjectEntity, 'p')
      .leftJoin('project_members', 'm', 'm.project_id = p.id AND m.user_id = :userId', {
        userId: principal.userId,
      })
      .addSelect('m.role', 'member_role');
    if ('id' in where) qb.where('p.id = :id', { id: where.id });
    else qb.where('p.key = :key', { key: where.key });
    const { entities, raw } = await qb.getRawAndEntities<{ member_role: ProjectMemberRole | null }>();
    if (!entities.length) return null;
    return { project: entities[0], memberRole: raw[0].member_role ?? null };
  }
}
