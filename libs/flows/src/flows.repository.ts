import { Injectable } from '@nestjs/common';
import { Conditions, pageClause, PageQueryDto, Sql } from '@app/core';
import { EntityManager } from 'typeorm';
import { FlowEntity, FlowEventType } from './flow.entity';

const columns = (
  a: string,
) => `${a}.id, ${a}.project_id AS "projectId", ${a}.task_id AS "taskId", ${a}.status,
  ${a}.stages, ${a}.current, ${a}.gates, ${a}.gate, ${a}.feedback, ${a}.config, ${a}.change_id AS "changeId",
  ${a}.merge_approved AS "mergeApproved", ${a}.merging_change_id AS "mergingChangeId", ${a}.error,
  ${a}.deploy_to AS "deployTo", ${a}.deployment, ${a}.created_by AS "createdBy", ${a}.created_at AS "createdAt",
  ${a}.updated_at AS "updatedAt", ${a}.completed_at AS "completedAt"`;

export type FlowRow = FlowEntity;

/** What a move of the flow changes. */
export type FlowState = Pick<
  FlowRow,
  | 'status'
  | 'stages'
  | 'current'
  | 'gate'
  | 'feedback'
  | 'changeId'
  | 'mergeApproved'
  | 'mergingChangeId'
  | 'deployment'
  | 'error'
>;

export interface FlowEventRow {
  id: string;
  type: FlowEventType;
  data: Record<string, unknown>;
  created_at: Date;
}

/** The flows table. */
@Injectable()
export class FlowsRepository {
  constructor(private readonly sql: Sql) {}

  async insert(
    manager: EntityManager,
    f: Pick<
      FlowEntity,
      'id' | 'projectId' | 'taskId' | 'stages' | 'gates' | 'config' | 'deployTo' | 'createdBy'
    >,
  ): Promise<void> {
    await this.sql.exec(
      `INSERT INTO flows (id, project_id, task_id, status, stages, gates, config, deploy_to, created_by)
         VALUES ($1, $2, $3, 'running', $4, $5, $6, $7, $8)`,
      [
        f.id,
        f.projectId,
        f.taskId,
        JSON.stringify(f.stages),
        JSON.stringify(f.gates),
        JSON.stringify(f.config),
        f.deployTo ? JSON.stringify(f.deployTo) : null,
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

  async save(manager: EntityManager, id: string, f: FlowState): Promise<void> {
    await this.sql.exec(
      `UPDATE flows SET status = $2::varchar, stages = $3, current = $4, gate = $5, feedback = $6, change_id = $7,
              merging_change_id = $8, error = $9, merge_approved = $10, deployment = $11, updated_at = now(),
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
        f.mergingChangeId,
        f.error,
        f.mergeApproved,
        f.deployment ? JSON.stringify(f.deployment) : null,
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

  /** Running flows waiting on this change's merge, or on this deployment. */
  waitingOn(on: { changeId?: string; deploymentId?: string }): Promise<Array<{ id: string }>> {
    return this.sql.rows<{ id: string }>(
      `SELECT id FROM flows WHERE status = 'running'
          AND (merging_change_id = $1::varchar OR deployment->>'deploymentId' = $2::varchar)`,
      [on.changeId ?? null, on.deploymentId ?? null],
    );
  }

  /** A flow event, numbered from the activations' event sequence (one order for the flow's stream). */
  async insertEvent(
    manager: EntityManager,
    flowId: string,
    type: FlowEventType,
    data: Record<string, unknown>,
  ): Promise<void> {
    await this.sql.exec(
      `INSERT INTO flow_events (id, flow_id, type, data, created_at)
         VALUES (nextval('agent_activation_events_id_seq'), $1, $2, $3, clock_timestamp())`,
      [flowId, type, JSON.stringify(data)],
      manager,
    );
  }

  /** The flow's own events after `afterId`, in order, at most `limit`. */
  events(flowId: string, afterId: string, limit: number): Promise<FlowEventRow[]> {
    return this.sql.rows<FlowEventRow>(
      `SELECT id, type, data, created_at FROM flow_events WHERE flow_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
      [flowId, afterId, limit],
    );
  }
}
