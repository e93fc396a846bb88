import { Column, CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { BuildEntity } from './build.entity';

export type BuildLogKind = 'log' | 'stage' | 'status';

/**
 * A build's log, as numbered events: output text (already masked) and stage and status changes.
 * The number is the SSE event id, so a client resumes with Last-Event-ID; the text log is the
 * `log` events in order. Kept in PostgreSQL, not on a worker's disk, so every gateway can serve
 * any build's log and a finished part survives the worker that wrote it.
 */
@Entity('build_log_events')
export class BuildLogEventEntity {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  buildId: string;

  @ManyToOne(() => BuildEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'build_id', foreignKeyConstraintName: 'build_log_events_build_fk' })
  build?: BuildEntity;

  @PrimaryColumn({ type: 'int' })
  seq: number;

  @Column({ type: 'varchar', length: 16 })
  kind: BuildLogKind;

  /** Text for `log`; JSON for `stage` and `status`. */
  @Column({ type: 'text' })
  body: string;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;
}
