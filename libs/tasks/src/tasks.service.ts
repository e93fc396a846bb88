import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  AppError,
  Conditions,
  containsPattern,
  FieldError,
  newId,
  OutboxService,
  Page,
  pageClause,
  pageOf,
  Permission,
  Principal,
  Sql,
  Tx,
  UnitOfWork,
} from '@app/core';
import {
  accessOf,
  PROJECT_ACCESS_COLUMNS,
  ProjectAccess,
  projectAccessJoin,
  ProjectAccessRow,
  ProjectAccessService,
  ProjectStatsService,
} from '@app/projects';
import { DataSource, EntityManager } from 'typeorm';
import { TaskHistoryEntity } from './task-history.entity';
import { allowedTransitions, canTransition, TaskStatus } from './task-workflow';
import {
  ChangeTaskStatusDto,
  CreateTaskDto,
  HistoryQueryDto,
  ListTasksQueryDto,
  mapHistory,
  mapTaskRow,
  TaskDto,
  TaskHistoryEntryDto,
  TaskRow,
  UpdateTaskDto,
} from './task.dto';
import { TaskType } from './task.entity';

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
const TASK_ID = /^task_[0-9a-z]{16}$/;
const TASK_KEY = /^[A-Z0-9]{2,10}-[1-9]\d{0,9}$/;
const LOWERCASE_KEY = /^[A-Za-z0-9]{2,10}-\d+$/;

type TaskRef = { id: string } | { key: string };
interface LoadedTask {
  row: TaskRow;
  access: ProjectAccess;
}

/** Fields whose edits are recorded in the history (DTO name -> column). */
const EDITABLE: Record<Exclude<keyof UpdateTaskDto, never>, string> = {
  type: 'type',
  title: 'title',
  description: 'description',
  assigneeId: 'assignee_id',
  priority: 'priority',
  storyPoints: 'story_points',
  parentTaskId: 'parent_task_id',
  labels: 'labels',
};

@Injectable()
export class TasksService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly uow: UnitOfWork,
    private readonly access: ProjectAccessService,
    private readonly stats: ProjectStatsService,
    private readonly outbox: OutboxService,
    private readonly sql: Sql,
  ) {}

  async create(actor: Principal, projectId: string, dto: CreateTaskDto): Promise<TaskDto> {
    return this.uow.run(async (tx) => {
      const { project } = await this.access.writable(actor, projectId, Permission.TasksWrite, tx.manager);
      const parentId = await this.checkRelations(tx.manager, project.id, null, {
        type: dto.type,
        assigneeId: dto.assigneeId ?? null,
        parentRef: dto.parentTaskId ?? null,
      });
      // Gap-free numbering: the counter row stays locked until COMMIT, and a rollback returns the number.
      const [{ last_number: number }] = await tx.manager.query(
        `INSERT INTO task_counters (project_id, last_number) VALUES ($1, 1)
         ON CONFLICT (project_id) DO UPDATE SET last_number = task_counters.last_number + 1 RETURNING last_number`,
        [project.id],
      );
      const [row]: TaskRow[] = await tx.manager.query(
        `INSERT INTO tasks AS t (id, project_id, number, key, type, title, description, status, assignee_id, reporter_id,
                          priority, story_points, parent_task_id, labels)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'todo', $8, $9, $10, $11, $12, $13) RETURNING ${COLUMNS}`,
        [
          newId('task'),
          project.id,
          number,
          `${project.key}-${number}`,
          dto.type,
          dto.title,
          dto.description ?? null,
          dto.assigneeId ?? null,
          actor.userId,
          dto.priority ?? 'medium',
          dto.storyPoints ?? null,
          parentId,
          dto.labels ?? [],
        ],
      );
      await this.countStatus(tx, project.id, 'todo', +1);
      await this.stats.adjust(tx, project.id, { totalTasks: +1 });
      await this.record(tx, row.id, actor, [{ field: 'created', from: null, to: 'todo' }]);
      const task = mapTaskRow(row);
      await this.outbox.publish(
        tx,
        'task.updated',
        { action: 'created', task, actorId: actor.userId },
        project.id,
      );
      return task;
    });
  }

  async list(actor: Principal, projectId: string, query: ListTasksQueryDto): Promise<Page<TaskDto>> {
    const { project } = await this.access.readable(actor, projectId);
    const where = new Conditions().and((v) => `t.project_id = ${v(project.id)}`);
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
            query.status ? [project.id, query.status] : [project.id],
          )
          .then(([r]) => Number(r.n))
      : undefined;
    const { rows, total } = await this.sql.page<TaskRow>(
      COLUMNS,
      'FROM tasks t',
      where,
      pageClause(query, SORT_COLUMNS[query.sortBy], 't.id'),
      counted,
    );
    return pageOf(rows.map(mapTaskRow), total, query);
  }

  async get(actor: Principal, taskRef: string): Promise<TaskDto> {
    return mapTaskRow((await this.loadVisible(null, actor, taskRef)).row);
  }

  async update(actor: Principal, taskRef: string, dto: UpdateTaskDto): Promise<TaskDto> {
    return this.uow.run(async (tx) => {
      const { row, access } = await this.loadWritable(tx, actor, taskRef);
      const current = mapTaskRow(row);
      const changed = (Object.keys(EDITABLE) as Array<keyof UpdateTaskDto>).filter(
        (k) => dto[k] !== undefined && JSON.stringify(dto[k]) !== JSON.stringify(current[k]),
      );
      if (!changed.length) return current;
      const next = { ...current, ...dto };
      const parentId = await this.checkRelations(tx.manager, access.project.id, row.id, {
        type: next.type,
        assigneeId: changed.includes('assigneeId') ? (dto.assigneeId ?? null) : null,
        parentRef: changed.includes('parentTaskId')
          ? (dto.parentTaskId ?? null)
          : next.type === 'epic'
            ? current.parentTaskId
            : null,
      });
      const values = changed.map((k) => (k === 'parentTaskId' ? parentId : dto[k]));
      const sets = changed.map((k, i) => `${EDITABLE[k]} = $${i + 2}`).join(', ');
      const [updated]: [TaskRow[], number] = await tx.manager.query(
        `UPDATE tasks t SET ${sets}, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
        [row.id, ...values],
      );
      const task = mapTaskRow(updated[0]);
      await this.record(
        tx,
        row.id,
        actor,
        changed.map((k) => ({ field: k, from: current[k], to: task[k] })),
      );
      await this.outbox.publish(
        tx,
        'task.updated',
        { action: 'updated', task, changes: changed, actorId: actor.userId },
        task.projectId,
      );
      return task;
    });
  }

  async changeStatus(actor: Principal, taskRef: string, dto: ChangeTaskStatusDto): Promise<TaskDto> {
    return this.uow.run(async (tx) => {
      const { row } = await this.loadWritable(tx, actor, taskRef);
      const from = row.status;
      if (!canTransition(from, dto.status)) {
        throw AppError.conflict(`A task cannot move from ${from} to ${dto.status}`, {
          from,
          to: dto.status,
          allowed: allowedTransitions(from),
        });
      }
      const [updated]: [TaskRow[], number] = await tx.manager.query(
        `UPDATE tasks t SET status = $2, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
        [row.id, dto.status],
      );
      await this.countStatus(tx, row.project_id, from, -1);
      await this.countStatus(tx, row.project_id, dto.status, +1);
      const completed = (dto.status === 'done' ? 1 : 0) - (from === 'done' ? 1 : 0);
      await this.stats.adjust(tx, row.project_id, { completedTasks: completed });
      await this.record(tx, row.id, actor, [
        { field: 'status', from, to: dto.status, comment: dto.comment ?? null },
      ]);
      const task = mapTaskRow(updated[0]);
      await this.outbox.publish(
        tx,
        'task.updated',
        {
          action: 'status_changed',
          task,
          from,
          to: dto.status,
          comment: dto.comment ?? null,
          actorId: actor.userId,
        },
        task.projectId,
      );
      return task;
    });
  }

  async remove(actor: Principal, taskRef: string): Promise<void> {
    await this.uow.run(async (tx) => {
      const { row } = await this.loadWritable(tx, actor, taskRef);
      await tx.manager.query(`DELETE FROM tasks WHERE id = $1`, [row.id]);
      await this.countStatus(tx, row.project_id, row.status, -1);
      await this.stats.adjust(tx, row.project_id, {
        totalTasks: -1,
        completedTasks: row.status === 'done' ? -1 : 0,
      });
      await this.outbox.publish(
        tx,
        'task.updated',
        { action: 'deleted', task: mapTaskRow(row), actorId: actor.userId },
        row.project_id,
      );
    });
  }

  async history(
    actor: Principal,
    taskRef: string,
    query: HistoryQueryDto,
  ): Promise<Page<TaskHistoryEntryDto>> {
    const { row } = await this.loadVisible(null, actor, taskRef);
    const [entries, total] = await this.dataSource.manager.findAndCount(TaskHistoryEntity, {
      where: { taskId: row.id },
      order: { id: query.sortOrder === 'asc' ? 'ASC' : 'DESC' },
      skip: (query.page - 1) * query.pageSize,
      take: query.pageSize,
    });
    return pageOf(entries.map(mapHistory), total, query);
  }

  // ---- helpers --------------------------------------------------------------------------------

  /** `task_...` id or `KEY-N`; a key in lower case is refused with a hint, anything else is 404. */
  private parseRef(taskRef: string): TaskRef {
    if (TASK_ID.test(taskRef)) return { id: taskRef };
    if (TASK_KEY.test(taskRef)) return { key: taskRef };
    if (LOWERCASE_KEY.test(taskRef)) {
      throw AppError.validation([
        { field: 'taskId', message: 'task keys are upper-case, e.g. ECOM-12', code: 'invalid_format' },
      ]);
    }
    throw AppError.notFound('task', taskRef);
  }

  /** One query: the task, its project's visibility and the caller's membership. */
  private async loadVisible(
    manager: EntityManager | null,
    actor: Principal,
    taskRef: string,
    lock = false,
  ): Promise<LoadedTask> {
    const ref = this.parseRef(taskRef);
    const rows: Array<TaskRow & ProjectAccessRow> = await this.read(
      manager,
      `SELECT ${COLUMNS}, ${PROJECT_ACCESS_COLUMNS}
           FROM tasks t ${projectAccessJoin('t', '$2')}
          WHERE ${'id' in ref ? 't.id' : 't.key'} = $1${lock ? ' FOR UPDATE OF t' : ''}`,
      ['id' in ref ? ref.id : ref.key, actor.userId],
    );
    const r = rows[0];
    const access: ProjectAccess | null = r ? accessOf(r.project_id, r) : null;
    // Invisible is indistinguishable from missing.
    if (!r || !access || !this.access.canSee(actor, access)) throw AppError.notFound('task', taskRef);
    return { row: r, access };
  }

  /** Through the transaction when there is one, else straight from the pool (the hot path). */
  private read<T>(manager: EntityManager | null, text: string, values: unknown[]): Promise<T[]> {
    return manager ? manager.query(text, values) : this.sql.rows<T>(text, values);
  }

  private async loadWritable(tx: Tx, actor: Principal, taskRef: string): Promise<LoadedTask> {
    const loaded = await this.loadVisible(tx.manager, actor, taskRef, true);
    this.access.assertCanChange(actor, loaded.access, Permission.TasksWrite);
    return loaded;
  }

  /**
   * Assignee must be a project member; the parent must be a task of the same project, never the
   * task itself or one of its descendants, and an epic has no parent. Returns the parent's id.
   */
  private async checkRelations(
    manager: EntityManager,
    projectId: string,
    taskId: string | null,
    input: { type: TaskType; assigneeId: string | null; parentRef: string | null },
  ): Promise<string | null> {
    const fields: FieldError[] = [];
    if (input.assigneeId) {
      const member = await manager.query(
        `SELECT 1 FROM project_members WHERE project_id = $1 AND user_id = $2`,
        [projectId, input.assigneeId],
      );
      if (!member.length)
        fields.push({
          field: 'assigneeId',
          message: 'the assignee must be a member of the project',
          code: 'not_a_member',
        });
    }
    let parentId: string | null = null;
    if (input.parentRef) {
      if (input.type === 'epic') {
        fields.push({
          field: 'parentTaskId',
          message: 'an epic cannot have a parent task',
          code: 'epic_has_no_parent',
        });
      } else {
        const byKey = TASK_KEY.test(input.parentRef);
        const [parent] = await manager.query(
          `SELECT id, project_id FROM tasks WHERE ${byKey ? 'key' : 'id'} = $1`,
          [input.parentRef],
        );
        if (!parent || parent.project_id !== projectId) {
          fields.push({
            field: 'parentTaskId',
            message: 'the parent must be a task of the same project',
            code: 'invalid_parent',
          });
        } else if (
          taskId &&
          (parent.id === taskId || (await this.isDescendant(manager, parent.id, taskId)))
        ) {
          fields.push({ field: 'parentTaskId', message: 'a task cannot be its own ancestor', code: 'cycle' });
        } else {
          parentId = parent.id;
        }
      }
    }
    if (fields.length) throw AppError.validation(fields);
    return parentId;
  }

  /** True when `candidate` sits below `ancestor` in the parent chain. */
  private async isDescendant(manager: EntityManager, candidate: string, ancestor: string): Promise<boolean> {
    const rows = await manager.query(
      `WITH RECURSIVE up(id, parent_task_id, depth) AS (
         SELECT id, parent_task_id, 0 FROM tasks WHERE id = $1
         UNION ALL
         SELECT t.id, t.parent_task_id, up.depth + 1 FROM tasks t JOIN up ON t.id = up.parent_task_id WHERE up.depth < 1000
       ) SELECT 1 FROM up WHERE id = $2 LIMIT 1`,
      [candidate, ancestor],
    );
    return rows.length > 0;
  }

  private async countStatus(tx: Tx, projectId: string, status: TaskStatus, delta: number): Promise<void> {
    await tx.manager.query(
      `INSERT INTO task_status_counts (project_id, status, count) VALUES ($1, $2, $3)
       ON CONFLICT (project_id, status) DO UPDATE SET count = task_status_counts.count + EXCLUDED.count`,
      [projectId, status, delta],
    );
  }

  private async record(
    tx: Tx,
    taskId: string,
    actor: Principal,
    entries: Array<{ field: string; from: unknown; to: unknown; comment?: string | null }>,
  ): Promise<void> {
    const params: unknown[] = [];
    const rows = entries.map((e) => {
      params.push(
        taskId,
        e.field,
        JSON.stringify(e.from ?? null),
        JSON.stringify(e.to ?? null),
        e.comment ?? null,
        actor.userId,
      );
      const n = params.length;
      return `($${n - 5}, $${n - 4}, $${n - 3}::jsonb, $${n - 2}::jsonb, $${n - 1}, $${n})`;
    });
    await tx.manager.query(
      `INSERT INTO task_history (task_id, field, from_value, to_value, comment, changed_by) VALUES ${rows.join(', ')}`,
      params,
    );
  }
}
