import { Injectable, Logger } from '@nestjs/common';
import {
  AppConfig,
  AppError,
  Conditions,
  newId,
  Page,
  pageOf,
  Permission,
  Principal,
  Tx,
  UnitOfWork,
  uniqueViolation,
} from '@app/core';
import { accessOf, ProjectAccess, ProjectAccessService, ProjectsService } from '@app/projects';
import { FileStore } from '@app/storage';
import { buildArtifactsPrefix } from './artifact-keys';
import { BuildsRepository } from './builds.repository';
import { StageDefinition } from './pipeline.entity';
import {
  CreatePipelineDto,
  ListPipelinesQueryDto,
  PipelineDto,
  StageDto,
  UpdatePipelineDto,
} from './pipeline.dto';
import { DEFAULT_PIPELINE_BRANCH, mapPipelineRow, PipelineRow } from './pipeline.rows';
import { PipelinesRepository } from './pipelines.repository';

export interface LoadedPipeline {
  row: PipelineRow;
  access: ProjectAccess;
}

/**
 * Pipelines of projects. They run commands on the workers, so only roles with pipelines:write
 * (devops, admin) define them, and only as members of the project; whoever may see the project
 * sees its pipelines; an invisible one is 404.
 */
@Injectable()
export class PipelinesService {
  private readonly logger = new Logger(PipelinesService.name);

  constructor(
    private readonly uow: UnitOfWork,
    private readonly access: ProjectAccessService,
    private readonly pipelines: PipelinesRepository,
    private readonly builds: BuildsRepository,
    private readonly config: AppConfig,
    private readonly files: FileStore,
    private readonly projects: ProjectsService,
  ) {}

  async create(actor: Principal, dto: CreatePipelineDto): Promise<PipelineDto> {
    return this.uow.run(async (tx) => {
      const { project } = await this.access.writable(
        actor,
        dto.projectId,
        Permission.PipelinesWrite,
        tx.manager,
      );
      // Without a URL of its own the pipeline follows the project's repository: there must be one.
      const follows = dto.repositoryUrl === undefined;
      if (follows) await this.assertProjectRepository(project.id, tx);
      const row = await this.unique(dto.name, () =>
        this.pipelines.insert(
          {
            id: newId('pipeline'),
            projectId: project.id,
            name: dto.name,
            description: dto.description ?? null,
            repositoryUrl: dto.repositoryUrl ?? null,
            // Following the project: its default branch too, unless the pipeline names one.
            defaultBranch: dto.defaultBranch ?? (follows ? null : DEFAULT_PIPELINE_BRANCH),
            stages: this.stages(dto.stages),
            artifacts: dto.artifacts ?? [],
            network: dto.network ?? 'none',
            createdBy: actor.userId,
          },
          tx.manager,
        ),
      );
      return mapPipelineRow(row);
    });
  }

  async list(actor: Principal, query: ListPipelinesQueryDto): Promise<Page<PipelineDto>> {
    const { rows, total } = await this.pipelines.page(
      this.access.restrictToVisible(new Conditions(), actor),
      { projectId: query.projectId, search: query.search },
      query,
    );
    return pageOf(rows.map(mapPipelineRow), total, query);
  }

  async get(actor: Principal, pipelineId: string): Promise<PipelineDto> {
    return mapPipelineRow((await this.loadVisible(null, actor, pipelineId)).row);
  }

  async update(actor: Principal, pipelineId: string, dto: UpdatePipelineDto): Promise<PipelineDto> {
    return this.uow.run(async (tx) => {
      const { row } = await this.loadWritable(tx, actor, pipelineId, Permission.PipelinesWrite);
      if (dto.repositoryUrl === null) await this.assertProjectRepository(row.project_id, tx);
      const changes = {
        name: dto.name,
        description: dto.description,
        repositoryUrl: dto.repositoryUrl,
        defaultBranch: dto.defaultBranch,
        stages: dto.stages === undefined ? undefined : this.stages(dto.stages),
        artifacts: dto.artifacts,
        network: dto.network,
      };
      const updated = await this.unique(dto.name ?? row.name, () =>
        this.pipelines.update(row.id, changes, tx.manager),
      );
      return mapPipelineRow(updated ?? row);
    });
  }

  /** Deletes the pipeline with its builds, logs and artifacts; refused while a build is queued or running. */
  async remove(actor: Principal, pipelineId: string): Promise<void> {
    const buildIds = await this.uow.run(async (tx) => {
      const { row } = await this.loadWritable(tx, actor, pipelineId, Permission.PipelinesWrite);
      const active = await this.builds.activeOfPipeline(row.id, tx.manager);
      if (active.length)
        throw AppError.conflict('The pipeline has builds queued or running; cancel them first', {
          builds: active.map((b) => b.id),
        });
      const buildIds = await this.builds.idsOfPipeline(row.id, tx.manager);
      await this.pipelines.delete(row.id, tx.manager);
      await this.projects.forgetPipeline(tx, row.project_id, row.id);
      return buildIds;
    });
    for (const id of buildIds) {
      // After the commit: no row points at a file once it is gone (a failure here leaves unread files).
      await this.files
        .deletePrefix(buildArtifactsPrefix(id))
        .catch((err: Error) => this.logger.warn(`could not remove the artifacts of ${id}: ${err.message}`));
    }
  }

  /**
   * The project of a pipeline (null: no such pipeline), its row locked against deletion until
   * `tx` ends: ProjectsService.update checks a project's `repository.pipelineId` with it.
   */
  async projectOf(pipelineId: string, tx: Tx): Promise<string | null> {
    return (await this.pipelines.projectOf(pipelineId, tx.manager)) ?? null;
  }

  /** The pipeline if the caller may see it (404 otherwise), with the caller's access to its project. */
  async loadVisible(
    tx: Tx | null,
    actor: Principal,
    pipelineId: string,
    lock = false,
  ): Promise<LoadedPipeline> {
    const r = await this.pipelines.withAccess(pipelineId, actor.userId, lock, tx?.manager);
    const access = r ? accessOf(r.project_id, r) : null;
    if (!r || !access || !this.access.canSee(actor, access)) throw AppError.notFound('pipeline', pipelineId);
    return { row: r, access };
  }

  /** Visible, and changeable with `permission` (403 for non-members or roles without it; 409 when archived). */
  async loadWritable(
    tx: Tx,
    actor: Principal,
    pipelineId: string,
    permission: Permission,
  ): Promise<LoadedPipeline> {
    const loaded = await this.loadVisible(tx, actor, pipelineId, true);
    this.access.assertCanChange(actor, loaded.access, permission);
    return loaded;
  }

  /** 422 on repositoryUrl when the project has no repository for a pipeline to follow. */
  private async assertProjectRepository(projectId: string, tx: Tx): Promise<void> {
    if (await this.projects.hasRepository(projectId, tx)) return;
    throw AppError.validation([
      {
        field: 'repositoryUrl',
        message:
          'repositoryUrl is required: the project has no repository to default to (PUT /projects/{projectId} repository)',
        code: 'required',
      },
    ]);
  }

  private stages(stages: StageDto[]): StageDefinition[] {
    return stages.map((s) => ({
      name: s.name,
      commands: s.commands,
      timeoutSeconds: s.timeoutSeconds ?? this.config.builds.defaultStageTimeoutSeconds,
    }));
  }

  private async unique<T>(name: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (uniqueViolation(err) !== null)
        throw AppError.conflict(`A pipeline named "${name}" already exists in this project`, { name });
      throw err;
    }
  }
}
