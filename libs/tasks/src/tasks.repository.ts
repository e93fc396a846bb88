import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Conditions, containsPattern, pageClause, Sql } from '@app/core';
import { PROJECT_ACCESS_COLUMNS, projectAccessJoin, ProjectAccessRow } from '@app/projects';
import { EntityManager, Repository } from 'typeorm';
import { TaskHistoryEntity } from './task-history.entity';
import { TaskStatus } from './task-workflow';
import { HistoryQueryDto, ListTasksQueryDto, UpdateTaskDto } from './task.dto';
import { TaskRow } from './tasks.rows';

const COLUMNS = `t.id, t.key, t.project_id, t.type, t.title, t.description, t.status, t.assignee_id, t.reporter_id,
  t.priority, t.story_points, t.parent_task_id, t.labels, t.created_at, t.updated_at`;
const SORT_COLUMNS: Record<ListTasksQueryDto['sortBy'], string> = {
  createdAt: 't.created_at',
  updatedAt: 't.updated_at',
  // critical first when descending
  priority: `array_position(ARRAY['low','medium','high','critical']::varchar[], t.priority)`,
  key: 't.number',
  title: 't.title',
};

/** Fields whose edits are recorded in the history (DTO name -> column). */
const EDITABLE: Record<keyof UpdateTaskDto, string> = {
  type: 'type',
  title: 'title',
  description: 'description',
  assigneeId: 'assignee_id',
  priority: 'priority',
  storyPoints: 'story_points',
  parentTaskId: 'parent_task_id',
  labels: 'labels',
};

/** The fields an edit may change. */
export const EDITABLE_FIELDS = Object.keys(EDITABLE) as Array<keyof UpdateTaskDto>;

/** A task by id (`task_...`) or by key (`ECOM-12`). */
export type TaskRef = { id: string } | { key: string };

/** A task's columns as create writes them (status starts at todo). */
export interface NewTaskRow {
  id: string;
  projectId: string;
  number: number;
  key: string;
  type: string;
  title: string;
  description: string | null;
  assigneeId: string | null;
  reporterId: string;
  priority: string;
  storyPoints: number | null;
  parentTaskId: string | null;
  labels: string[];
}

/** One entry of a task's history. */
export interface HistoryEntry {
  field: string;
  from: unknown;
  to: unknown;
  comment?: string | null;
}

/**
 * Every statement on tasks, task_counters, task_status_counts and task_history. Reads without a
 * manager go straight to the pool (the hot path); with a transaction's manager they run in it.
 */
@Injectable()
export class TasksRepository {
  constructor(
    @InjectRepository(TaskHistoryEntity) private readonly history: Repository<TaskHistoryEntity>,
    private readonly sql: Sql,
  ) {}

  /** Gap-free numbering: the counter row stays locked until COMMIT, and a rollback returns the number. */
  async nextNumber(manager: EntityManager, projectId: string): Promise<number> {
    const [{ last_number: number }] = await this.sql.rows<{ last_number: number }>(
      `INSERT INTO task_counters (project_id, last_number) VALUES ($1, 1)
         ON CONFLICT (project_id) DO UPDATE SET last_number = task_counters.last_number + 1 RETURNING last_number`,
      [projectId],
      manager,
    );
    return number;
  }

  async insert(manager: EntityManager, t: NewTaskRow): Promise<TaskRow> {
    const [row] = await this.sql.rows<TaskRow>(
      `INSERT INTO tasks AS t (id, project_id, number, key, type, title, description, status, assignee_id, reporter_id,
                          priority, story_points, parent_task_id, labels)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'todo', $8, $9, $10, $11, $12, $13) RETURNING ${COLUMNS}`,
      [
        t.id,
        t.projectId,
        t.number,
        t.key,
        t.type,
        t.title,
        t.description,
        t.assigneeId,
        t.reporterId,
        t.priority,
        t.storyPoints,
        t.parentTaskId,
        t.labels,
      ],
      manager,
    );
    return row;
  }

  /** One page of a project's tasks and the exact total. */
  list(projectId: string, query: ListTasksQueryDto): Promise<{ rows: TaskRow[]; total: number }> {
    const where = new Conditions().and((v) => `t.project_id = ${v(projectId)}`);
    if (query.status) where.and((v) => `t.status = ${v(query.status)}`);
    if (query.type) where.and((v) => `t.type = ${v(query.type)}`);
    if (query.assigneeId) where.and((v) => `t.assignee_id = ${v(query.assigneeId)}`);
    if (query.priority) where.and((v) => `t.priority = ${v(query.priority)}`);
    if (query.label) where.and((v) => `t.labels @> ARRAY[${v(query.label)}]::text[]`);
    if (query.parentTaskId) where.and((v) => `t.parent_task_id = ${v(query.parentTaskId)}`);
    if (query.search) {
      const like = containsPattern(query.search);
      where.and((v) => `(t.title ILIKE ${v(like)} OR t.description ILIKE ${v(like)})`);
    }
    const onlyStatusFilter =
      !query.type &&
      !query.assigneeId &&
      !query.priority &&
      !query.label &&
      !query.search &&
      !query.parentTaskId;
    // Exact totals: from the maintained per-status counters when the filter allows, else COUNT(*) over an index.
    const counted = onlyStatusFilter
      ? this.sql
          .rows<{ n: string }>(
            `SELECT COALESCE(SUM(count), 0) AS n FROM task_status_counts WHERE project_id = $1${query.status ? ' AND status = $2' : ''}`,
            query.status ? [projectId, query.status] : [projectId],
          )
          .then(([r]) => Number(r.n))
      : undefined;
    return this.sql.page<TaskRow>(
      COLUMNS,
      'FROM tasks t',
      where,
      pageClause(query, SORT_COLUMNS[query.sortBy], 't.id'),
      counted,
    );
  }

  /** One query: the task, its project's visibility and the viewer's membership (`lock`: FOR UPDATE). */
  load(
    ref: TaskRef,
    viewerId: string,
    manager?: EntityManager,
    lock = false,
  ): Promise<(TaskRow & ProjectAccessRow) | undefined> {
    return this.sql.one<TaskRow & ProjectAccessRow>(
      `SELECT ${COLUMNS}, ${PROJECT_ACCESS_COLUMNS}
           FROM tasks t ${projectAccessJoin('t', '$2')}
          WHERE ${'id' in ref ? 't.id' : 't.key'} = $1${lock ? ' FOR UPDATE OF t' : ''}`,
      ['id' in ref ? ref.id : ref.key, viewerId],
      manager,
    );
  }

  /** Sets the changed fields (in this order); the row as it now is. */
  async update(
    manager: EntityManager,
    taskId: string,
    changes: Array<[keyof UpdateTaskDto, unknown]>,
  ): Promise<TaskRow> {
    const sets = changes.map(([k], i) => `${EDITABLE[k]} = $${i + 2}`).join(', ');
    const [updated] = await this.sql.rows<TaskRow>(
      `UPDATE tasks t SET ${sets}, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
      [taskId, ...changes.map(([, v]) => v)],
      manager,
    );
    return updated;
  }

  async setStatus(manager: EntityManager, taskId: string, status: TaskStatus): Promise<TaskRow> {
    const [updated] = await this.sql.rows<TaskRow>(
      `UPDATE tasks t SET status = $2, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
      [taskId, status],
      manager,
    );
    return updated;
  }

  async delete(manager: EntityManager, taskId: string): Promise<void> {
    await this.sql.exec(`DELETE FROM tasks WHERE id = $1`, [taskId], manager);
  }

  /** A task's id and project, by id or key. */
  findRef(manager: EntityManager, ref: TaskRef): Promise<{ id: string; project_id: string } | undefined> {
    return this.sql.one<{ id: string; project_id: string }>(
      `SELECT id, project_id FROM tasks WHERE ${'key' in ref ? 'key' : 'id'} = $1`,
      ['key' in ref ? ref.key : ref.id],
      manager,
    );
  }

  /** True when `candidate` sits below `ancestor` in the parent chain. */
  async isDescendant(manager: EntityManager, candidate: string, ancestor: string): Promise<boolean> {
    const rows = await this.sql.rows(
      `WITH RECURSIVE up(id, parent_task_id, depth) AS (
         SELECT id, parent_task_id, 0 FROM tasks WHERE id = $1
         UNION ALL
         SELECT t.id, t.parent_task_id, up.depth + 1 FROM tasks t JOIN up ON t.id = up.parent_task_id WHERE up.depth < 1000
       ) SELECT 1 FROM up WHERE id = $2 LIMIT 1`,
      [candidate, ancestor],
      manager,
    );
    return rows.length > 0;
  }

  /** Moves the per-status counter that list totals read. */
  async countStatus(
    manager: EntityManager,
    projectId: string,
    status: TaskStatus,
    delta: number,
  ): Promise<void> {
    await this.sql.exec(
      `INSERT INTO task_status_counts (project_id, status, count) VALUES ($1, $2, $3)
       ON CONFLICT (project_id, status) DO UPDATE SET count = task_status_counts.count + EXCLUDED.count`,
      [projectId, status, delta],
      manager,
    );
  }

  /** Appends history entries, in one statement. */
  async recordHistory(
    manager: EntityManager,
    taskId: string,
    changedBy: string,
    entries: HistoryEntry[],
  ): Promise<void> {
    const params: unknown[] = [];
    const rows = entries.map((e) => {
      params.push(
        taskId,
        e.field,
        JSON.stringify(e.from ?? null),
        JSON.stringify(e.to ?? null),
        e.comment ?? null,
        changedBy,
      );
      const n = params.length;
      return `($${n - 5}, $${n - 4}, $${n - 3}::jsonb, $${n - 2}::jsonb, $${n - 1}, $${n})`;
    });
    await this.sql.exec(
      `INSERT INTO task_history (task_id, field, from_value, to_value, comment, changed_by) VALUES ${rows.join(', ')}`,
      params,
      manager,
    );
  }

  /** One page of a task's history and its total. */
  historyOf(taskId: string, query: HistoryQueryDto): Promise<[TaskHistoryEntity[], number]> {
    return this.history.manager.findAndCount(TaskHistoryEntity, {
      where: { taskId },
      order: { id: query.sortOrder === 'asc' ? 'ASC' : 'DESC' },
      skip: (query.page - 1) * query.pageSize,
      take: query.pageSize,
    });
  }
}
