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
  SecretBox,
  Tx,
  UnitOfWork,
  uniqueViolation,
  urlSecrets,
} from '@app/core';
import { AuditLogService, UsersService } from '@app/users';
import { ProjectAccess, ProjectAccessService } from './project-access.service';
import { ProjectStatsRepository } from './project-stats.repository';
import {
  AddMemberDto,
  CreateProjectDto,
  DEFAULT_BRANCH,
  DEFAULT_CREDENTIALS_USERNAME,
  ListProjectsQueryDto,
  mapProject,
  ProjectDto,
  ProjectMemberDto,
  ProjectRepositoryInputDto,
  UpdateProjectDto,
} from './project.dto';
import { ProjectEntity, ProjectStatus, ProjectVisibility } from './project.entity';
import { ProjectsRepository } from './projects.repository';

/**
 * Which project a pipeline belongs to (null: no such pipeline), locking the pipeline row against
 * deletion until the transaction ends. Pipelines live a layer above projects: whoever lets a
 * `repository.pipelineId` through to update says how to look it up.
 */
export type PipelineProjectLookup = (pipelineId: string, tx: Tx) => Promise<string | null>;

/** Repository credentials in clear: for a checkout on the worker only, never for a response or a log. */
export interface RepositoryCredentials {
  username: string;
  token: string;
}

/** A project's repository as a checkout needs it. */
export interface ProjectRepositoryAccess {
  url: string;
  defaultBranch: string;
  /** The pipeline that builds the project's changes (repository.pipelineId), if named. */
  pipelineId: string | null;
  credentials: RepositoryCredentials | null;
}

/** What a repository change says in the audit log: never the credentials, only what became of them. */
type CredentialsChange = 'set' | 'kept' | 'removed' | 'none';

/** The associated data repository credentials are sealed with: they open only for their own project. */
const credentialsContext = (projectId: string) => `projects/${projectId}/repository-credentials`;

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
    private readonly secrets: SecretBox,
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
          repositoryUrl: null,
          repositoryDefaultBranch: null,
          repositoryPipelineId: null,
          repositoryCredentials: null,
          monthlyBudgetUsd: null,
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
    return this.load(project.id);
  }

  /**
   * Changes what `dto` gives. A `repository.pipelineId` must name a pipeline of this project,
   * found with `pipelineProject` (without it, any pipelineId is refused).
   */
  async update(
    actor: Principal,
    projectId: string,
    dto: UpdateProjectDto,
    pipelineProject?: PipelineProjectLookup,
  ): Promise<ProjectDto> {
    await this.uow.run(async (tx) => {
      await this.access.writable(actor, projectId, Permission.ProjectsWrite, tx.manager);
      // The pipeline's row before the project's, in the order PipelinesService.remove takes them.
      const pipelineId = dto.repository?.pipelineId;
      if (pipelineId) await this.assertPipelineOf(tx, projectId, pipelineId, pipelineProject);
      await this.projects.lock(tx.manager, projectId);
      const project = await this.projects.findByIdOrFail(projectId, tx.manager);
      const changes: Partial<ProjectEntity> = {};
      const audited: Record<string, unknown> = {};
      if (dto.name !== undefined && dto.name !== project.name) changes.name = dto.name;
      if (dto.description !== undefined && dto.description !== project.description)
        changes.description = dto.description;
      if (dto.visibility !== undefined && dto.visibility !== project.visibility)
        changes.visibility = dto.visibility;
      if (dto.monthlyBudgetUsd !== undefined && dto.monthlyBudgetUsd !== project.monthlyBudgetUsd)
        changes.monthlyBudgetUsd = dto.monthlyBudgetUsd;
      if (dto.ownerId !== undefined && dto.ownerId !== project.ownerId) {
        await this.assertUsersExist(tx, [{ field: 'ownerId', ids: [dto.ownerId] }]);
        changes.ownerId = dto.ownerId;
        await this.projects.setMemberRole(tx.manager, projectId, project.ownerId, 'member');
        await this.projects.upsertMember(tx.manager, { projectId, userId: dto.ownerId, role: 'owner' });
      }
      Object.assign(audited, changes);
      if (dto.repository !== undefined) {
        const repo = this.repositoryChanges(project, dto.repository);
        if (repo) {
          Object.assign(changes, repo.changes);
          audited.repository = repo.audited;
        }
      }
      if (!Object.keys(changes).length) return;
      await this.projects.update(tx.manager, projectId, changes);
      await this.audit.record(tx, {
        actorId: actor.userId,
        action: 'project.updated',
        targetType: 'project',
        targetId: projectId,
        details: { changes: audited },
      });
    });
    return this.get(actor, projectId);
  }

  /**
   * The project's repository with its credentials decrypted, for the worker's checkout; null when
   * the project has none. Throws SecretBoxError when the credentials cannot be opened (another
   * SECRETS_ENCRYPTION_KEY).
   */
  async repositoryAccess(projectId: string): Promise<ProjectRepositoryAccess | null> {
    const project = await this.projects.findByIdOrFail(projectId);
    if (!project.repositoryUrl) return null;
    const sealed = project.repositoryCredentials;
    return {
      url: project.repositoryUrl,
      defaultBranch: project.repositoryDefaultBranch ?? DEFAULT_BRANCH,
      pipelineId: project.repositoryPipelineId,
      credentials: sealed
        ? (JSON.parse(this.secrets.decrypt(sealed, credentialsContext(projectId))) as RepositoryCredentials)
        : null,
    };
  }

  /** Whether the project has a repository (for its pipelines to follow). */
  async hasRepository(projectId: string, tx?: Tx): Promise<boolean> {
    return (await this.projects.findByIdOrFail(projectId, tx?.manager)).repositoryUrl !== null;
  }

  /** The pipeline is being deleted (in `tx`): the project no longer names it as its main pipeline. */
  async forgetPipeline(tx: Tx, projectId: string, pipelineId: string): Promise<void> {
    await this.projects.clearPipeline(tx.manager, projectId, pipelineId);
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

  /**
   * The columns `input` changes (null when none), and what the audit log may say of them. PUT
   * replaces the repository as a whole but for the credentials, which are write-only: left out,
   * they are kept while the URL stays on the same origin (a token never follows a URL elsewhere).
   */
  private repositoryChanges(
    project: ProjectEntity,
    input: ProjectRepositoryInputDto | null,
  ): { changes: Partial<ProjectEntity>; audited: Record<string, unknown> | null } | null {
    if (input === null) {
      if (project.repositoryUrl === null && project.repositoryCredentials === null) return null;
      return {
        changes: {
          repositoryUrl: null,
          repositoryDefaultBranch: null,
          repositoryPipelineId: null,
          repositoryCredentials: null,
          monthlyBudgetUsd: null,
        },
        audited: null,
      };
    }
    const fields: FieldError[] = [];
    if (urlSecrets(input.url).length)
      fields.push({
        field: 'repository.url',
        message: 'url must not hold a password or token: give it in repository.credentials',
        code: 'credentials_in_url',
      });
    const http = /^https?:\/\//i.test(input.url);
    if (input.credentials && !http)
      fields.push({
        field: 'repository.credentials',
        message: 'credentials go with an https:// (or http://) repository URL',
        code: 'credentials_need_https',
      });
    if (fields.length) throw AppError.validation(fields);

    let sealed: string | null;
    let credentials: CredentialsChange;
    if (input.credentials) {
      const clear: RepositoryCredentials = {
        username: input.credentials.username ?? DEFAULT_CREDENTIALS_USERNAME,
        token: input.credentials.token,
      };
      sealed = this.secrets.encrypt(JSON.stringify(clear), credentialsContext(project.id));
      credentials = 'set';
    } else if (
      input.credentials === undefined &&
      project.repositoryCredentials !== null &&
      sameOrigin(project.repositoryUrl, input.url)
    ) {
      sealed = project.repositoryCredentials;
      credentials = 'kept';
    } else {
      sealed = null;
      credentials = project.repositoryCredentials === null ? 'none' : 'removed';
    }
    const next = {
      repositoryUrl: input.url,
      repositoryDefaultBranch: input.defaultBranch ?? DEFAULT_BRANCH,
      repositoryPipelineId: input.pipelineId ?? null,
    };
    const unchanged =
      credentials !== 'set' &&
      sealed === project.repositoryCredentials &&
      next.repositoryUrl === project.repositoryUrl &&
      next.repositoryDefaultBranch === (project.repositoryDefaultBranch ?? DEFAULT_BRANCH) &&
      next.repositoryPipelineId === project.repositoryPipelineId;
    if (unchanged) return null;
    return {
      changes: { ...next, repositoryCredentials: sealed },
      audited: {
        url: next.repositoryUrl,
        defaultBranch: next.repositoryDefaultBranch,
        pipelineId: next.repositoryPipelineId,
        credentials,
      },
    };
  }

  private async assertPipelineOf(
    tx: Tx,
    projectId: string,
    pipelineId: string,
    pipelineProject?: PipelineProjectLookup,
  ): Promise<void> {
    const owner = pipelineProject ? await pipelineProject(pipelineId, tx) : null;
    if (owner !== projectId)
      throw AppError.validation([
        {
          field: 'repository.pipelineId',
          message: `pipeline ${pipelineId} is not a pipeline of this project`,
          code: 'unknown_pipeline',
        },
      ]);
  }

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

/** Same scheme, host and port (the URL credentials were given for). */
function sameOrigin(a: string | null, b: string): boolean {
  if (!a) return false;
  try {
    const x = new URL(a);
    const y = new URL(b);
    return x.protocol === y.protocol && x.host.toLowerCase() === y.host.toLowerCase();
  } catch {
    return false;
  }
}
