import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

export type MailStatus = 'queued' | 'sent' | 'kept' | 'failed';

/**
 * Every mail the platform sends. Without SMTP a mail stays here as `kept` (and is logged), so
 * nothing is silently dropped.
 */
@Entity('mails')
export class MailEntity {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  id: string;

  @Column({ type: 'varchar', length: 254 })
  to: string;

  @Column({ type: 'varchar', length: 300 })
  subject: string;

  @Column({ type: 'text' })
  text: string;

  @Column({ type: 'varchar', length: 64 })
  purpose: string;

  @Column({ type: 'varchar', length: 16, default: 'queued' })
  status: MailStatus;

  @Column({ type: 'int', default: 0 })
  attempts: number;

  @Column({ type: 'text', nullable: true })
  error: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @Column({ type: 'timestamptz', nullable: true })
  sentAt: Date | null;
}
