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
  Tx,
  UnitOfWork,
} from '@app/core';
import { accessOf, ProjectAccess, ProjectAccessService, ProjectStatsService } from '@app/projects';
import { allowedTransitions, canTransition, TaskStatus } from './task-workflow';
import {
  ChangeTaskStatusDto,
  CreateTaskDto,
  HistoryQueryDto,
  ListTasksQueryDto,
  TaskDto,
  TaskHistoryEntryDto,
  UpdateTaskDto,
} from './task.dto';
import { TaskType } from './task.entity';
import { EDITABLE_FIELDS, HistoryEntry, TaskRef, TasksRepository } from './tasks.repository';
import { mapHistory, mapTaskRow, TaskRow } from './tasks.rows';

const TASK_ID = /^task_[0-9a-z]{16}$/;
const TASK_KEY = /^[A-Z0-9]{2,10}-[1-9]\d{0,9}$/;
const LOWERCASE_KEY = /^[A-Za-z0-9]{2,10}-\d+$/;

interface LoadedTask {
  row: TaskRow;
  access: ProjectAccess;
}

@Injectable()
export class TasksService {
  constructor(
    private readonly tasks: TasksRepository,
    private readonly uow: UnitOfWork,
    private readonly access: ProjectAccessService,
    private readonly stats: ProjectStatsService,
    private readonly outbox: OutboxService,
  ) {}

  async create(actor: Principal, projectId: string, dto: CreateTaskDto): Promise<TaskDto> {
    return this.uow.run(async (tx) => {
      const { project } = await this.access.writable(actor, projectId, Permission.TasksWrite, tx.manager);
      const parentId = await this.checkRelations(tx, project.id, null, {
        type: dto.type,
        assigneeId: dto.assigneeId ?? null,
        parentRef: dto.parentTaskId ?? null,
      });
      // Gap-free numbering: a rollback returns the number.
      const number = await this.tasks.nextNumber(tx.manager, project.id);
      const row = await this.tasks.insert(tx.manager, {
        id: newId('task'),
        projectId: project.id,
        number,
        key: `${project.key}-${number}`,
        type: dto.type,
        title: dto.title,
        description: dto.description ?? null,
        assigneeId: dto.assigneeId ?? null,
        reporterId: actor.userId,
        priority: dto.priority ?? 'medium',
        storyPoints: dto.storyPoints ?? null,
        parentTaskId: parentId,
        labels: dto.labels ?? [],
      });
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
    const { rows, total } = await this.tasks.list(project.id, query);
    return pageOf(rows.map(mapTaskRow), total, query);
  }

  async get(actor: Principal, taskRef: string): Promise<TaskDto> {
    return mapTaskRow((await this.loadVisible(undefined, actor, taskRef)).row);
  }

  async update(actor: Principal, taskRef: string, dto: UpdateTaskDto): Promise<TaskDto> {
    return this.uow.run(async (tx) => {
      const { row, access } = await this.loadWritable(tx, actor, taskRef);
      const current = mapTaskRow(row);
      const changed = EDITABLE_FIELDS.filter(
        (k) => dto[k] !== undefined && JSON.stringify(dto[k]) !== JSON.stringify(current[k]),
      );
      if (!changed.length) return current;
      const next = { ...current, ...dto };
      const parentId = await this.checkRelations(tx, access.project.id, row.id, {
        type: next.type,
        assigneeId: changed.includes('assigneeId') ? (dto.assigneeId ?? null) : null,
        parentRef: changed.includes('parentTaskId')
          ? (dto.parentTaskId ?? null)
          : next.type === 'epic'
            ? current.parentTaskId
            : null,
      });
      const updated = await this.tasks.update(
        tx.manager,
        row.id,
        changed.map((k) => [k, k === 'parentTaskId' ? parentId : dto[k]]),
      );
      const task = mapTaskRow(updated);
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
      const updated = await this.tasks.setStatus(tx.manager, row.id, dto.status);
      await this.countStatus(tx, row.project_id, from, -1);
      await this.countStatus(tx, row.project_id, dto.status, +1);
      const completed = (dto.status === 'done' ? 1 : 0) - (from === 'done' ? 1 : 0);
      await this.stats.adjust(tx, row.project_id, { completedTasks: completed });
      await this.record(tx, row.id, actor, [
        { field: 'status', from, to: dto.status, comment: dto.comment ?? null },
      ]);
      const task = mapTaskRow(updated);
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
      await this.tasks.delete(tx.manager, row.id);
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
    const { row } = await this.loadVisible(undefined, actor, taskRef);
    const [entries, total] = await this.tasks.historyOf(row.id, query);
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
    tx: Tx | undefined,
    actor: Principal,
    taskRef: string,
    lock = false,
  ): Promise<LoadedTask> {
    const r = await this.tasks.load(this.parseRef(taskRef), actor.userId, tx?.manager, lock);
    const access: ProjectAccess | null = r ? accessOf(r.project_id, r) : null;
    // Invisible is indistinguishable from missing.
    if (!r || !access || !this.access.canSee(actor, access)) throw AppError.notFound('task', taskRef);
    return { row: r, access };
  }

  private async loadWritable(tx: Tx, actor: Principal, taskRef: string): Promise<LoadedTask> {
    const loaded = await this.loadVisible(tx, actor, taskRef, true);
    this.access.assertCanChange(actor, loaded.access, Permission.TasksWrite);
    return loaded;
  }

  /**
   * Assignee must be a project member; the parent must be a task of the same project, never the
   * task itself or one of its descendants, and an epic has no parent. Returns the parent's id.
   */
  private async checkRelations(
    tx: Tx,
    projectId: string,
    taskId: string | null,
    input: { type: TaskType; assigneeId: string | null; parentRef: string | null },
  ): Promise<string | null> {
    const fields: FieldError[] = [];
    if (input.assigneeId) {
      if (!(await this.access.isMember(projectId, input.assigneeId, tx.manager)))
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
        const ref = TASK_KEY.test(input.parentRef) ? { key: input.parentRef } : { id: input.parentRef };
        const parent = await this.tasks.findRef(tx.manager, ref);
        if (!parent || parent.project_id !== projectId) {
          fields.push({
            field: 'parentTaskId',
            message: 'the parent must be a task of the same project',
            code: 'invalid_parent',
          });
        } else if (
          taskId &&
          (parent.id === taskId || (await this.tasks.isDescendant(tx.manager, parent.id, taskId)))
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

  private countStatus(tx: Tx, projectId: string, status: TaskStatus, delta: number): Promise<void> {
    return this.tasks.countStatus(tx.manager, projectId, status, delta);
  }

  private record(tx: Tx, taskId: string, actor: Principal, entries: HistoryEntry[]): Promise<void> {
    return this.tasks.recordHistory(tx.manager, taskId, actor.userId, entries);
  }
}
