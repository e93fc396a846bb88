import { Injectable } from '@nestjs/common';
import { Conditions, pageClause, PageQueryDto, Sql } from '@app/core';
import { EntityManager } from 'typeorm';
import { FlowEntity, FlowStage, FlowStatus } from './flow.entity';

const columns = (
  a: string,
) => `${a}.id, ${a}.project_id AS "projectId", ${a}.task_id AS "taskId", ${a}.status,
  ${a}.stages, ${a}.current, ${a}.gates, ${a}.gate, ${a}.feedback, ${a}.config, ${a}.change_id AS "changeId",
  ${a}.merge_approved AS "mergeApproved", ${a}.merge_requested AS "mergeRequested", ${a}.error, ${a}.created_by AS "createdBy", ${a}.created_at AS "createdAt",
  ${a}.updated_at AS "updatedAt", ${a}.completed_at AS "completedAt"`;

export type FlowRow = FlowEntity;

/** The flows table. */
@Injectable()
export class FlowsRepository {
  constructor(private readonly sql: Sql) {}

  async insert(
    manager: EntityManager,
    f: Pick<FlowEntity, 'id' | 'projectId' | 'taskId' | 'stages' | 'gates' | 'config' | 'createdBy'>,
  ): Promise<void> {
    await this.sql.exec(
      `INSERT INTO flows (id, project_id, task_id, status, stages, gates, config, created_by)
         VALUES ($1, $2, $3, 'running', $4, $5, $6, $7)`,
      [
        f.id,
        f.projectId,
        f.taskId,
        JSON.stringify(f.stages),
        JSON.stringify(f.gates),
        JSON.stringify(f.config),
        f.createdBy,
      ],
      manager,
    );
  }

  /** The flow (in a transaction with `lock`: locked until it ends: one writer drives a flow). */
  find(id: string, manager?: EntityManager, lock = false): Promise<FlowRow | undefined> {
    return this.sql.one<FlowRow>(
      `SELECT ${columns('f')} FROM flows f WHERE f.id = $1${lock ? ' FOR UPDATE' : ''}`,
      [id],
      manager,
    );
  }

  async save(
    manager: EntityManager,
    id: string,
    f: {
      status: FlowStatus;
      stages: FlowStage[];
      current: number;
      gate: string | null;
      feedback: string | null;
      changeId: string | null;
      mergeApproved: boolean;
      mergeRequested: boolean;
      error: string | null;
    },
  ): Promise<void> {
    await this.sql.exec(
      `UPDATE flows SET status = $2::varchar, stages = $3, current = $4, gate = $5, feedback = $6, change_id = $7,
              merge_requested = $8, error = $9, merge_approved = $10, updated_at = now(),
              completed_at = CASE WHEN $2::varchar IN ('completed', 'failed', 'rejected', 'cancelled') THEN now() ELSE NULL END
        WHERE id = $1`,
      [
        id,
        f.status,
        JSON.stringify(f.stages),
        f.current,
        f.gate,
        f.feedback,
        f.changeId,
        f.mergeRequested,
        f.error,
        f.mergeApproved,
      ],
      manager,
    );
  }

  /** A page of flows in the visible projects (`where`), newest first. */
  page(
    where: Conditions,
    filter: { taskId?: string; status?: string },
    query: Pick<PageQueryDto, 'page' | 'pageSize' | 'sortOrder'>,
  ): Promise<{ rows: FlowRow[]; total: number }> {
    if (filter.taskId) where.and((v) => `f.task_id = ${v(filter.taskId)}`);
    if (filter.status) where.and((v) => `f.status = ${v(filter.status)}`);
    return this.sql.page<FlowRow>(
      columns('f'),
      'FROM flows f JOIN projects p ON p.id = f.project_id',
      where,
      pageClause(query, 'f.created_at', 'f.id'),
    );
  }

  /** Running flows not touched for `idleMs`: their stage may have ended without its job (the sweep). */
  idle(idleMs: number): Promise<Array<{ id: string }>> {
    return this.sql.rows<{ id: string }>(
      `SELECT id FROM flows WHERE status = 'running' AND updated_at < now() - make_interval(secs => $1::float / 1000) LIMIT 200`,
      [idleMs],
    );
  }
}
