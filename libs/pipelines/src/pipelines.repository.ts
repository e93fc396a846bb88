import { Injectable } from '@nestjs/common';
import { Conditions, containsPattern, pageClause, PageQueryDto, Sql } from '@app/core';
import { PROJECT_ACCESS_COLUMNS, projectAccessJoin, ProjectAccessRow } from '@app/projects';
import type { SandboxNetwork } from '@app/runner';
import { EntityManager } from 'typeorm';
import { StageDefinition } from './pipeline.entity';
import { PipelineRow } from './pipeline.rows';

// With the project's repository as it is now: a pipeline without a URL of its own follows it.
const COLUMNS = `pl.id, pl.project_id, pl.name, pl.description, pl.repository_url, pl.default_branch, pl.stages,
  pl.artifacts, pl.network, pl.created_by, pl.created_at, pl.updated_at,
  pr.repository_url AS project_repository_url, pr.repository_default_branch AS project_default_branch,
  (pr.repository_credentials IS NOT NULL) AS project_has_credentials`;
/** Joins the project's repository columns (as pr) to a statement on pipelines pl. */
const PROJECT_REPOSITORY = `LEFT JOIN LATERAL (SELECT repository_url, repository_default_branch, repository_credentials
  FROM projects WHERE id = pl.project_id) pr ON TRUE`;

export interface NewPipeline {
  id: string;
  projectId: string;
  name: string;
  description: string | null;
  /** null: follows the project's repository */
  repositoryUrl: string | null;
  /** null: the project's repository's default branch */
  defaultBranch: string | null;
  stages: StageDefinition[];
  artifacts: string[];
  network: SandboxNetwork;
  createdBy: string;
}

/** The columns an update may change; undefined ones stay as they are. */
export type PipelineChanges = Partial<
  Pick<
    NewPipeline,
    'name' | 'description' | 'repositoryUrl' | 'defaultBranch' | 'stages' | 'artifacts' | 'network'
  >
>;

/** Every statement on `pipelines`. */
@Injectable()
export class PipelinesRepository {
  constructor(private readonly sql: Sql) {}

  async insert(p: NewPipeline, manager: EntityManager): Promise<PipelineRow> {
    const row = await this.sql.one<PipelineRow>(
      `WITH pl AS (
         INSERT INTO pipelines (id, project_id, name, description, repository_url, default_branch, stages, artifacts, network, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10) RETURNING *)
       SELECT ${COLUMNS} FROM pl ${PROJECT_REPOSITORY}`,
      [
        p.id,
        p.projectId,
        p.name,
        p.description,
        p.repositoryUrl,
        p.defaultBranch,
        JSON.stringify(p.stages),
        p.artifacts,
        p.network,
        p.createdBy,
      ],
      manager,
    );
    return row!;
  }

  /** A page of the pipelines `visible` lets through, optionally of one project or matching a name. */
  page(
    visible: Conditions,
    filter: { projectId?: string; search?: string },
    query: PageQueryDto,
  ): Promise<{ rows: PipelineRow[]; total: number }> {
    const where = visible;
    if (filter.projectId) where.and((v) => `pl.project_id = ${v(filter.projectId)}`);
    if (filter.search) where.and((v) => `pl.name ILIKE ${v(containsPattern(filter.search!))}`);
    return this.sql.page<PipelineRow>(
      COLUMNS,
      `FROM pipelines pl JOIN projects p ON p.id = pl.project_id ${PROJECT_REPOSITORY}`,
      where,
      pageClause(query, 'pl.created_at', 'pl.id'),
    );
  }

  /**
   * The pipeline with `userId`'s access to its project, in one statement; with `lock`, the row is
   * locked FOR UPDATE (inside `manager`'s transaction).
   */
  withAccess(
    pipelineId: string,
    userId: string,
    lock: boolean,
    manager?: EntityManager,
  ): Promise<(PipelineRow & ProjectAccessRow) | undefined> {
    return this.sql.one<PipelineRow & ProjectAccessRow>(
      `SELECT ${COLUMNS}, ${PROJECT_ACCESS_COLUMNS}
        FROM pipelines pl ${projectAccessJoin('pl', '$2')} ${PROJECT_REPOSITORY}
       WHERE pl.id = $1${lock ? ' FOR UPDATE OF pl' : ''}`,
      [pipelineId, userId],
      manager,
    );
  }

  /** Applies `changes`; undefined when there is nothing to change. */
  async update(
    pipelineId: string,
    changes: PipelineChanges,
    manager: EntityManager,
  ): Promise<PipelineRow | undefined> {
    const sets: string[] = [];
    const values: unknown[] = [pipelineId];
    const set = (column: string, value: unknown, cast = '') => {
      values.push(value);
      sets.push(`${column} = $${values.length}${cast}`);
    };
    if (changes.name !== undefined) set('name', changes.name);
    if (changes.description !== undefined) set('description', changes.description);
    if (changes.repositoryUrl !== undefined) set('repository_url', changes.repositoryUrl);
    if (changes.defaultBranch !== undefined) set('default_branch', changes.defaultBranch);
    if (changes.stages !== undefined) set('stages', JSON.stringify(changes.stages), '::jsonb');
    if (changes.artifacts !== undefined) set('artifacts', changes.artifacts);
    if (changes.network !== undefined) set('network', changes.network);
    if (!sets.length) return undefined;
    return this.sql.one<PipelineRow>(
      `WITH pl AS (UPDATE pipelines SET ${sets.join(', ')}, updated_at = now() WHERE id = $1 RETURNING *)
       SELECT ${COLUMNS} FROM pl ${PROJECT_REPOSITORY}`,
      values,
      manager,
    );
  }

  /** The project of the pipeline (undefined: none), its row locked against deletion until the transaction ends. */
  async projectOf(pipelineId: string, manager: EntityManager): Promise<string | undefined> {
    const row = await this.sql.one<{ project_id: string }>(
      `SELECT project_id FROM pipelines WHERE id = $1 FOR SHARE`,
      [pipelineId],
      manager,
    );
    return row?.project_id;
  }

  /** Deletes the pipeline; its builds go with it (ON DELETE CASCADE). */
  async delete(pipelineId: string, manager: EntityManager): Promise<void> {
    await this.sql.exec(`DELETE FROM pipelines WHERE id = $1`, [pipelineId], manager);
  }
}
