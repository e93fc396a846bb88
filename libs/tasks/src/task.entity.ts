import { ProjectEntity } from '@app/projects';
import { UserEntity } from '@app/users';
import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
  UpdateDateColumn,
} from 'typeorm';
import { TaskStatus } from './task-workflow';

export const TASK_TYPES = ['story', 'task', 'bug', 'epic'] as const;
export type TaskType = (typeof TASK_TYPES)[number];
export const TASK_PRIORITIES = ['critical', 'high', 'medium', 'low'] as const;
export type TaskPriority = (typeof TASK_PRIORITIES)[number];

// The list endpoint filters by project (and usually status) and sorts by created_at: these two
// indexes serve it without a scan; (id) breaks ties so pages are stable.
@Entity('tasks')
@Index('tasks_key_key', ['key'], { unique: true })
@Index('tasks_project_number_key', ['projectId', 'number'], { unique: true })
@Index('tasks_project_created_idx', ['projectId', 'createdAt', 'id'])
@Index('tasks_project_status_created_idx', ['projectId', 'status', 'createdAt', 'id'])
@Index('tasks_project_assignee_idx', ['projectId', 'assigneeId'])
@Index('tasks_parent_idx', ['parentTaskId'])
@Index('tasks_labels_idx', { synchronize: false })
export class TaskEntity {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  id: string;

  @Column({ type: 'varchar', length: 40 })
  projectId: string;

  @ManyToOne(() => ProjectEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'project_id', foreignKeyConstraintName: 'tasks_project_fk' })
  project?: ProjectEntity;

  /** N of KEY-N: gap-free per project (task_counters). */
  @Column({ type: 'int' })
  number: number;

  @Column({ type: 'varchar', length: 24 })
  key: string;

  @Column({ type: 'varchar', length: 16 })
  type: TaskType;

  @Column({ type: 'varchar', length: 500 })
  title: string;

  @Column({ type: 'text', nullable: true })
  description: string | null;

  @Column({ type: 'varchar', length: 16 })
  status: TaskStatus;

  @Column({ type: 'varchar', length: 40, nullable: true })
  assigneeId: string | null;

  @ManyToOne(() => UserEntity, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'assignee_id', foreignKeyConstraintName: 'tasks_assignee_fk' })
  assignee?: UserEntity;

  @Column({ type: 'varchar', length: 40, nullable: true })
  reporterId: string | null;

  @ManyToOne(() => UserEntity, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'reporter_id', foreignKeyConstraintName: 'tasks_reporter_fk' })
  reporter?: UserEntity;

  @Column({ type: 'varchar', length: 16 })
  priority: TaskPriority;

  @Column({ type: 'numeric', precision: 8, scale: 2, nullable: true })
  storyPoints: string | null;

  @Column({ type: 'varchar', length: 40, nullable: true })
  parentTaskId: string | null;

  @ManyToOne(() => TaskEntity, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'parent_task_id', foreignKeyConstraintName: 'tasks_parent_fk' })
  parent?: TaskEntity;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  labels: string[];

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
