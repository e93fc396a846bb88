import { iso } from '@app/core';
import { TaskHistoryEntity } from './task-history.entity';
import { TaskStatus } from './task-workflow';
import type { TaskDto, TaskHistoryEntryDto } from './task.dto';
import { TaskEntity, TaskPriority, TaskType } from './task.entity';

/** A task row as the raw SQL of TasksRepository returns it (snake_case columns). */
export interface TaskRow {
  id: string;
  key: string;
  project_id: string;
  type: TaskType;
  title: string;
  description: string | null;
  status: TaskStatus;
  assignee_id: string | null;
  reporter_id: string | null;
  priority: TaskPriority;
  story_points: string | null;
  parent_task_id: string | null;
  labels: string[];
  created_at: Date;
  updated_at: Date;
}

export function mapTaskRow(r: TaskRow): TaskDto {
  return {
    id: r.id,
    key: r.key,
    projectId: r.project_id,
    type: r.type,
    title: r.title,
    description: r.description,
    status: r.status,
    assigneeId: r.assignee_id,
    reporterId: r.reporter_id,
    priority: r.priority,
    storyPoints: r.story_points === null ? null : Number(r.story_points),
    parentTaskId: r.parent_task_id,
    labels: r.labels,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

export function mapTask(t: TaskEntity): TaskDto {
  return mapTaskRow({
    id: t.id,
    key: t.key,
    project_id: t.projectId,
    type: t.type,
    title: t.title,
    description: t.description,
    status: t.status,
    assignee_id: t.assigneeId,
    reporter_id: t.reporterId,
    priority: t.priority,
    story_points: t.storyPoints,
    parent_task_id: t.parentTaskId,
    labels: t.labels,
    created_at: t.createdAt,
    updated_at: t.updatedAt,
  });
}

export function mapHistory(h: TaskHistoryEntity): TaskHistoryEntryDto {
  return {
    id: h.id,
    field: h.field,
    from: h.fromValue ?? null,
    to: h.toValue ?? null,
    comment: h.comment,
    changedBy: h.changedBy,
    changedAt: iso(h.changedAt),
  };
}
