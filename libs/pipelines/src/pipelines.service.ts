import { Injectable, Logger } from '@nestjs/common';
import {
  AppConfig,
  AppError,
  Conditions,
  containsPattern,
  newId,
  Page,
  pageClause,
  pageOf,
  Permission,
  Principal,
  Sql,
  Tx,
  UnitOfWork,
  uniqueViolation,
} from '@app/core';
import {
  accessOf,
  PROJECT_ACCESS_COLUMNS,
  ProjectAccess,
  projectAccessJoin,
  ProjectAccessRow,
  ProjectAccessService,
} from '@app/projects';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StageDefinition } from './pipeline.entity';
import {
  CreatePipelineDto,
  ListPipelinesQueryDto,
  mapPipelineRow,
  PipelineDto,
  PipelineRow,
  StageDto,
  UpdatePipelineDto,
} from './pipeline.dto';

const COLUMNS = `pl.id, pl.project_id, pl.name, pl.description, pl.repository_url, pl.default_branch, pl.stages,
  pl.artifacts, pl.network, pl.created_by, pl.created_at, pl.updated_at`;

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
    private readonly sql: Sql,
    private readonly config: AppConfig,
  ) {}

  async create(actor: Principal, dto: CreatePipelineDto): Promise<PipelineDto> {
    return this.uow.run(async (tx) => {
      const { project } = await this.access.writable(
        actor,
        dto.projectId,
        Permission.PipelinesWrite,
        tx.manager,
      );
      const [row]: PipelineRow[] = await this.unique(dto.name, () =>
        tx.manager.query(
          `INSERT INTO pipelines AS pl (id, project_id, name, description, repository_url, default_branch, stages, artifacts, network, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10) RETURNING ${COLUMNS}`,
          [
            newId('pipeline'),
            project.id,
            dto.name,
            dto.description ?? null,
            dto.repositoryUrl,
            dto.defaultBranch ?? 'main',
            JSON.stringify(this.stages(dto.stages)),
            dto.artifacts ?? [],
            dto.network ?? 'none',
            actor.userId,
          ],
        ),
      );
      return mapPipelineRow(row);
    });
  }

  async list(actor: Principal, query: ListPipelinesQueryDto): Promise<Page<PipelineDto>> {
    const where = this.access.restrictToVisible(new Conditions(), actor);
    if (query.projectId) where.and((v) => `pl.project_id = ${v(query.projectId)}`);
    if (query.search) where.and((v) => `pl.name ILIKE ${v(containsPattern(query.search!))}`);
    const { rows, total } = await this.sql.page<PipelineRow>(
      COLUMNS,
      'FROM pipelines pl JOIN projects p ON p.id = pl.project_id',
      where,
      pageClause(query, 'pl.created_at', 'pl.id'),
    );
    return pageOf(rows.map(mapPipelineRow), total, query);
  }

  async get(actor: Principal, pipelineId: string): Promise<PipelineDto> {
    return mapPipelineRow((await this.loadVisible(null, actor, pipelineId)).row);
  }

  async update(actor: Principal, pipelineId: string, dto: UpdatePipelineDto): Promise<PipelineDto> {
    return this.uow.run(async (tx) => {
      const { row } = await this.loadWritable(tx, actor, pipelineId, Permission.PipelinesWrite);
      const sets: string[] = [];
      const values: unknown[] = [row.id];
      const set = (column: string, value: unknown, cast = '') => {
        values.push(value);
        sets.push(`${column} = $${values.length}${cast}`);
      };
      if (dto.name !== undefined) set('name', dto.name);
      if (dto.description !== undefined) set('description', dto.description);
      if (dto.repositoryUrl !== undefined) set('repository_url', dto.repositoryUrl);
      if (dto.defaultBranch !== undefined) set('default_branch', dto.defaultBranch);
      if (dto.stages !== undefined) set('stages', JSON.stringify(this.stages(dto.stages)), '::jsonb');
      if (dto.artifacts !== undefined) set('artifacts', dto.artifacts);
      if (dto.network !== undefined) set('network', dto.network);
      if (!sets.length) return mapPipelineRow(row);
      const [updated]: [PipelineRow[], number] = await this.unique(dto.name ?? row.name, () =>
        tx.manager.query(
          `UPDATE pipelines pl SET ${sets.join(', ')}, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
          values,
        ),
      );
      return mapPipelineRow(updated[0]);
    });
  }

  /** Deletes the pipeline with its builds, logs and artifacts; refused while a build is queued or running. */
  async remove(actor: Principal, pipelineId: string): Promise<void> {
    const buildIds = await this.uow.run(async (tx) => {
      const { row } = await this.loadWritable(tx, actor, pipelineId, Permission.PipelinesWrite);
      const active: Array<{ id: string; status: string }> = await tx.manager.query(
        `SELECT id, status FROM builds WHERE pipeline_id = $1 AND status IN ('queued', 'running') LIMIT 5`,
        [row.id],
      );
      if (active.length)
        throw AppError.conflict('The pipeline has builds queued or running; cancel them first', {
          builds: active.map((b) => b.id),
        });
      const builds: Array<{ id: string }> = await tx.manager.query(
        `SELECT id FROM builds WHERE pipeline_id = $1`,
        [row.id],
      );
      await tx.manager.query(`DELETE FROM pipelines WHERE id = $1`, [row.id]);
      return builds.map((b) => b.id);
    });
    for (const id of buildIds) {
      await rm(join(this.config.builds.artifactsRoot, id), { recursive: true, force: true }).catch(
        (err: Error) => this.logger.warn(`could not remove the artifacts of ${id}: ${err.message}`),
      );
    }
  }

  /** The pipeline if the caller may see it (404 otherwise), with the caller's access to its project. */
  async loadVisible(
    tx: Tx | null,
    actor: Principal,
    pipelineId: string,
    lock = false,
  ): Promise<LoadedPipeline> {
    const text = `SELECT ${COLUMNS}, ${PROJECT_ACCESS_COLUMNS}
        FROM pipelines pl ${projectAccessJoin('pl', '$2')}
       WHERE pl.id = $1${lock ? ' FOR UPDATE OF pl' : ''}`;
    const values = [pipelineId, actor.userId];
    const rows: Array<PipelineRow & ProjectAccessRow> = tx
      ? await tx.manager.query(text, values)
      : await this.sql.rows(text, values);
    const r = rows[0];
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
