import { Injectable } from '@nestjs/common';
import { AppError, Conditions, Permission, Principal, Role, roleAllows, Sql } from '@app/core';
import { EntityManager } from 'typeorm';
import { ProjectMemberRole } from './project-member.entity';
import { ProjectEntity, ProjectStatus, ProjectVisibility } from './project.entity';

/** A project `p` the viewer (an SQL expression: a parameter) may see: internal, public, or theirs. */
const visibleProjects = (viewer: string) =>
  `(p.visibility IN ('internal', 'public') OR EXISTS (SELECT 1 FROM project_members vm WHERE vm.project_id = p.id AND vm.user_id = ${viewer}))`;

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
  constructor(private readonly sql: Sql) {}

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
    return sees(principal.can(Permission.ProjectsAdmin), access);
  }

  /**
   * Of these users, the ids of those who may see the project (the rule of canSee, for people
   * named on its objects rather than calling: a deployment's approvers).
   */
  async usersWhoCanSee(projectId: string, userIds: string[], manager?: EntityManager): Promise<Set<string>> {
    const text = `SELECT u.id, u.role, m.role AS "memberRole", p.visibility
                    FROM users u JOIN projects p ON p.id = $1
                    LEFT JOIN project_members m ON m.project_id = p.id AND m.user_id = u.id
                   WHERE u.id = ANY($2)`;
    const rows: Array<{
      id: string;
      role: Role;
      memberRole: ProjectMemberRole | null;
      visibility: ProjectVisibility;
    }> = manager
      ? await manager.query(text, [projectId, userIds])
      : await this.sql.rows(text, [projectId, userIds]);
    return new Set(
      rows
        .filter((r) =>
          sees(roleAllows(r.role, Permission.ProjectsAdmin), {
            project: { visibility: r.visibility } as ProjectEntity,
            memberRole: r.memberRole,
          }),
        )
        .map((r) => r.id),
    );
  }

  /** SQL for "projects the caller may see", for TypeORM list queries (alias `p`, parameter :viewerId). */
  visibilityCondition(principal: Principal): { sql: string; params: Record<string, unknown> } {
    if (principal.can(Permission.ProjectsAdmin)) return { sql: 'TRUE', params: {} };
    return { sql: visibleProjects(':viewerId'), params: { viewerId: principal.userId } };
  }

  /** Narrows a list query to the projects the caller may see (alias `p`); admins see all. */
  restrictToVisible(where: Conditions, principal: Principal): Conditions {
    if (principal.can(Permission.ProjectsAdmin)) return where;
    return where.and((v) => visibleProjects(v(principal.userId)));
  }

  private async load(
    principal: Principal,
    where: { id: string } | { key: string },
    manager?: EntityManager,
  ): Promise<ProjectAccess | null> {
    const text = `SELECT p.id, p.name, p.key, p.description, p.owner_id AS "ownerId", p.status, p.visibility,
                        p.created_at AS "createdAt", p.updated_at AS "updatedAt", p.archived_at AS "archivedAt",
                        m.role AS "memberRole"
                   FROM projects p
                   LEFT JOIN project_members m ON m.project_id = p.id AND m.user_id = $2
                  WHERE ${'id' in where ? 'p.id' : 'p.key'} = $1`;
    const values = ['id' in where ? where.id : where.key, principal.userId];
    // Inside a transaction, read through it; otherwise straight from the pool (the hot path).
    const rows: Array<ProjectEntity & { memberRole: ProjectMemberRole | null }> = manager
      ? await manager.query(text, values)
      : await this.sql.rows(text, values);
    if (!rows.length) return null;
    const { memberRole, ...project } = rows[0];
    return { project: project as ProjectEntity, memberRole: memberRole ?? null };
  }
}

function sees(admin: boolean, access: ProjectAccess): boolean {
  return (
    admin ||
    access.memberRole !== null ||
    access.project.visibility === ProjectVisibility.Internal ||
    access.project.visibility === ProjectVisibility.Public
  );
}
