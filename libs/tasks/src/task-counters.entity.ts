import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * The last task number of each project. Incremented with an upsert inside the creating
 * transaction: the row lock serialises concurrent creators, and a rolled-back creation gives its
 * number back, so keys are gap-free and unique.
 */
@Entity('task_counters')
export class TaskCounterEntity {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  projectId: string;

  @Column({ type: 'int' })
  lastNumber: number;
}

/** Tasks per project and status, kept in step with every change: exact list totals without COUNT(*). */
@Entity('task_status_counts')
export class TaskStatusCountEntity {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  projectId: string;

  @PrimaryColumn({ type: 'varchar', length: 16 })
  status: string;

  @Column({ type: 'int' })
  count: number;
}
