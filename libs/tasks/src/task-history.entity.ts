import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { TaskEntity } from './task.entity';

/** Every change to a task: status transitions (with their comment) and field edits. */
@Entity('task_history')
@Index('task_history_task_idx', ['taskId', 'id'])
export class TaskHistoryEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ type: 'varchar', length: 40 })
  taskId: string;

  @ManyToOne(() => TaskEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'task_id', foreignKeyConstraintName: 'task_history_task_fk' })
  task?: TaskEntity;

  /** `status`, `created`, or the name of the edited field. */
  @Column({ type: 'varchar', length: 32 })
  field: string;

  @Column({ type: 'jsonb', nullable: true })
  fromValue: unknown;

  @Column({ type: 'jsonb', nullable: true })
  toValue: unknown;

  @Column({ type: 'text', nullable: true })
  comment: string | null;

  @Column({ type: 'varchar', length: 40, nullable: true })
  changedBy: string | null;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  changedAt: Date;
}
