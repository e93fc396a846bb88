import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { AgentActivationEntity } from './agent-activation.entity';

export type AgentEventType = 'progress' | 'log' | 'step' | 'completed' | 'failed' | 'cancelled';
/** The events that end an activation's stream (nothing is written after them). */
export const TERMINAL_EVENT_TYPES: readonly AgentEventType[] = ['completed', 'failed', 'cancelled'];

/**
 * Everything that happened to an activation, in order. The bigserial id is the SSE event id:
 * increasing across all workers, so a client reconnecting with Last-Event-ID gets what it missed.
 */
@Entity('agent_activation_events')
@Index('agent_activation_events_activation_idx', ['activationId', 'id'])
export class AgentEventEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ type: 'varchar', length: 40 })
  activationId: string;

  @ManyToOne(() => AgentActivationEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'activation_id', foreignKeyConstraintName: 'agent_activation_events_activation_fk' })
  activation?: AgentActivationEntity;

  @Column({ type: 'varchar', length: 16 })
  type: AgentEventType;

  @Column({ type: 'jsonb' })
  data: Record<string, unknown>;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;
}
