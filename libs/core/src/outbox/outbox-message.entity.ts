import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** A job or event written in the same transaction as the change that caused it. */
@Entity('outbox_messages')
@Index('outbox_messages_pending_idx', ['id'], { where: 'dispatched_at IS NULL' })
export class OutboxMessageEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ type: 'varchar', length: 64 })
  queue: string;

  @Column({ type: 'varchar', length: 128 })
  name: string;

  @Column({ type: 'jsonb' })
  payload: Record<string, unknown>;

  @Column({ type: 'varchar', length: 128, nullable: true })
  requestId: string | null;

  /** The BullMQ job id when the job has a key (jobIdFor); null: `outbox-<id>`. */
  @Column({ type: 'varchar', length: 200, nullable: true })
  jobId: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @Column({ type: 'timestamptz', nullable: true })
  dispatchedAt: Date | null;

  @Column({ type: 'int', default: 0 })
  attempts: number;

  @Column({ type: 'text', nullable: true })
  lastError: string | null;
}
