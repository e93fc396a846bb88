import { ProjectMemberRole } from './project-member.entity';
import { ProjectEntity, ProjectStatus, ProjectVisibility } from './project.entity';
import type { ProjectAccess } from './project-access.service';

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
