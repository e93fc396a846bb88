import { Injectable } from '@nestjs/common';
import { AppError, Conditions, Permission, Principal, roleAllows } from '@app/core';
import { EntityManager } from 'typeorm';
import { ProjectAccessRepository, restrictToViewer } from './project-access.repository';
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
  constructor(private readonly repo: ProjectAccessRepository) {}

  /** The project if the caller may see it; 404 otherwise. */
  async readable(principal: Principal, projectId: string, manager?: EntityManager): Promise<ProjectAccess> {
    const access = await this.repo.load({ id: projectId }, principal.userId, manager);
    if (!access || !this.canSee(principal, access)) throw AppError.notFound('project', projectId);
    return access;
  }

  /** By key (ECOM) instead of id, with the same rule. */
  async readableByKey(principal: Principal, key: string, manager?: EntityManager): Promise<ProjectAccess> {
    const access = await this.repo.load({ key }, principal.userId, manager);
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
    const rows = await this.repo.usersOfProject(projectId, userIds, manager);
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

  /** Whose visibility narrows a list: the caller's, or nobody's (null) for an administrator. */
  viewerOf(principal: Principal): string | null {
    return principal.can(Permission.ProjectsAdmin) ? null : principal.userId;
  }

  /** Narrows a list query to the projects the caller may see (alias `p`); admins see all. */
  restrictToVisible(where: Conditions, principal: Principal): Conditions {
    const viewer = this.viewerOf(principal);
    return viewer === null ? where : restrictToViewer(where, viewer);
  }

  /** True when the user is a member of the project (an assignee must be one). */
  isMember(projectId: string, userId: string, manager?: EntityManager): Promise<boolean> {
    return this.repo.isMember(projectId, userId, manager);
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
