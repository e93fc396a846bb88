import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/** Who did what to which object; kept after the object itself is gone (no foreign keys). */
@Entity('audit_logs')
@Index('audit_logs_created_idx', ['createdAt'])
@Index('audit_logs_target_idx', ['targetType', 'targetId'])
export class AuditLogEntity {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  id: string;

  @Column({ type: 'varchar', length: 40, nullable: true })
  actorId: string | null;

  @Column({ type: 'varchar', length: 64 })
  action: string;

  @Column({ type: 'varchar', length: 32 })
  targetType: string;

  @Column({ type: 'varchar', length: 64 })
  targetId: string;

  @Column({ type: 'jsonb' })
  details: Record<string, unknown>;

  @Column({ type: 'varchar', length: 128, nullable: true })
  requestId: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;
}
