import { Injectable } from '@nestjs/common';
import { Conditions, Role, Sql } from '@app/core';
import { EntityManager } from 'typeorm';
import { ProjectMemberRole } from './project-member.entity';
import { ProjectEntity, ProjectStatus, ProjectVisibility } from './project.entity';
import type { ProjectAccess } from './project-access.service';

/** A project `p` the viewer (an SQL expression: a parameter) may see: internal, public, or theirs. */
export const visibleProjects = (viewer: string) =>
  `(p.visibility IN ('internal', 'public') OR EXISTS (SELECT 1 FROM project_members vm WHERE vm.project_id = p.id AND vm.user_id = ${viewer}))`;

/** Narrows a list query (alias `p`) to the projects `viewerId` may see. */
export function restrictToViewer(where: Conditions, viewerId: string): Conditions {
  return where.and((v) => visibleProjects(v(viewerId)));
}

/**
 * How a repository of a project-scoped table (pipelines, builds, test suites, tasks...) loads a row
 * together with the caller's access to its project, in the same statement:
 *
 *   SELECT t.*, ${PROJECT_ACCESS_COLUMNS} FROM tasks t ${projectAccessJoin('t', '$2')} WHERE t.id = $1
 *
 * and then `accessOf(row.project_id, row)` for ProjectAccessService.canSee / assertCanChange.
 */
export const PROJECT_ACCESS_COLUMNS = `p.key AS p_key, p.visibility AS p_visibility, p.status AS p_status, p.owner_id AS p_owner_id, m.role AS member_role`;

/** Joins `projects p` and the viewer's membership `m` to the row aliased `alias`; `viewer` is a placeholder ($2). */
export function projectAccessJoin(alias: string, viewer: string): string {
  return `JOIN projects p ON p.id = ${alias}.project_id LEFT JOIN project_members m ON m.project_id = ${alias}.project_id AND m.user_id = ${viewer}`;
}

/** The columns PROJECT_ACCESS_COLUMNS adds to a row. */
export interface ProjectAccessRow {
  p_key: string;
  p_visibility: ProjectVisibility;
  p_status: ProjectStatus;
  p_owner_id: string;
  member_role: ProjectMemberRole | null;
}

/** The project part of a row joined with projectAccessJoin. */
export function accessOf(projectId: string, r: ProjectAccessRow): ProjectAccess {
  return {
    project: {
      id: projectId,
      key: r.p_key,
      visibility: r.p_visibility,
      status: r.p_status,
      ownerId: r.p_owner_id,
    } as ProjectEntity,
    memberRole: r.member_role,
  };
}

/** A project row with the viewer's membership (ProjectAccessRepository.load). */
export type ProjectWithMemberRow = ProjectEntity & { memberRole: ProjectMemberRole | null };

export function mapProjectAccess(row: ProjectWithMemberRow): ProjectAccess {
  const { memberRole, ...project } = row;
  return { project: project as ProjectEntity, memberRole: memberRole ?? null };
}

/** A user, their role and membership, and the project's visibility (usersWhoCanSee). */
export interface UserProjectRow {
  id: string;
  role: Role;
  memberRole: ProjectMemberRole | null;
  visibility: ProjectVisibility;
}

/**
 * The access reads (the hot path of every project-scoped request): inside a transaction through
 * its manager, otherwise straight from the pool.
 */
@Injectable()
export class ProjectAccessRepository {
  constructor(private readonly sql: Sql) {}

  /** The project by id or key, with the viewer's membership; null when there is none. */
  async load(
    where: { id: string } | { key: string },
    viewerId: string,
    manager?: EntityManager,
  ): Promise<ProjectAccess | null> {
    const text = `SELECT p.id, p.name, p.key, p.description, p.owner_id AS "ownerId", p.status, p.visibility,
                        p.created_at AS "createdAt", p.updated_at AS "updatedAt", p.archived_at AS "archivedAt",
                        p.monthly_budget_usd::float8 AS "monthlyBudgetUsd", p.repository_url AS "repositoryUrl",
                        m.role AS "memberRole"
                   FROM projects p
                   LEFT JOIN project_members m ON m.project_id = p.id AND m.user_id = $2
                  WHERE ${'id' in where ? 'p.id' : 'p.key'} = $1`;
    const values = ['id' in where ? where.id : where.key, viewerId];
    const row = await this.sql.one<ProjectWithMemberRow>(text, values, manager);
    return row ? mapProjectAccess(row) : null;
  }

  /** These users with their role, their membership of the project and its visibility. */
  usersOfProject(projectId: string, userIds: string[], manager?: EntityManager): Promise<UserProjectRow[]> {
    const text = `SELECT u.id, u.role, m.role AS "memberRole", p.visibility
                    FROM users u JOIN projects p ON p.id = $1
                    LEFT JOIN project_members m ON m.project_id = p.id AND m.user_id = u.id
                   WHERE u.id = ANY($2)`;
    return this.sql.rows<UserProjectRow>(text, [projectId, userIds], manager);
  }

  /** True when the user is a member (any role) of the project. */
  async isMember(projectId: string, userId: string, manager?: EntityManager): Promise<boolean> {
    const member = await this.sql.rows(
      `SELECT 1 FROM project_members WHERE project_id = $1 AND user_id = $2`,
      [projectId, userId],
      manager,
    );
    return member.length > 0;
  }
}
