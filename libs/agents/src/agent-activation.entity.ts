import { ProjectEntity } from '@app/projects';
import { TaskEntity } from '@app/tasks';
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
import { ActivationStatus, AgentType, ProviderName } from './agent-types';
import { ActivationContext } from './agent-input';

export type StepStatus = 'pending' | 'in_progress' | 'completed' | 'failed' | 'cancelled';

export interface StepState {
  key: string;
  name: string;
  status: StepStatus;
  progress: number;
  startedAt: string | null;
  completedAt: string | null;
}

/** One run of one agent on one task: its steps, results and lease (which worker runs it). */
@Entity('agent_activations')
@Index('agent_activations_task_idx', ['taskId', 'createdAt'])
@Index('agent_activations_project_idx', ['projectId', 'createdAt'])
@Index('agent_activations_flow_idx', ['flowId'], { where: 'flow_id IS NOT NULL' })
@Index('agent_activations_status_idx', ['status', 'lockedUntil'])
export class AgentActivationEntity {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  id: string;

  @Column({ type: 'varchar', length: 16 })
  agentType: AgentType;

  @Column({ type: 'varchar', length: 40 })
  taskId: string;

  @ManyToOne(() => TaskEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'task_id', foreignKeyConstraintName: 'agent_activations_task_fk' })
  task?: TaskEntity;

  @Column({ type: 'varchar', length: 40 })
  projectId: string;

  @ManyToOne(() => ProjectEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'project_id', foreignKeyConstraintName: 'agent_activations_project_fk' })
  project?: ProjectEntity;

  @Column({ type: 'varchar', length: 40, nullable: true })
  requestedBy: string | null;

  /** The flow this activation is a stage of, if any: its end moves the flow on. */
  @Column({ type: 'varchar', length: 40, nullable: true })
  flowId: string | null;

  @Column({ type: 'varchar', length: 16 })
  status: ActivationStatus;

  @Column({ type: 'jsonb' })
  input: Record<string, unknown>;

  @Column({ type: 'jsonb' })
  config: Record<string, unknown>;

  @Column({ type: 'boolean', default: true })
  notifyOnComplete: boolean;

  @Column({ type: 'varchar', length: 16 })
  provider: ProviderName;

  /** document: the agent's steps produce a document; code: a session on the repository, a change and its build. */
  @Column({ type: 'varchar', length: 16, default: 'document' })
  workflow: 'document' | 'code';

  @Column({ type: 'jsonb' })
  steps: StepState[];

  @Column({ type: 'int', default: 0 })
  progress: number;

  @Column({ type: 'varchar', length: 100, nullable: true })
  currentStep: string | null;

  /** Each finished step's structured output, by step key. */
  @Column({ type: 'jsonb', default: () => "'{}'" })
  intermediateResults: Record<string, unknown>;

  /** json, not jsonb: the output keeps its key order (prdDocument first, as the seed shows). */
  @Column({ type: 'json', nullable: true })
  output: Record<string, unknown> | null;

  /** Files of the output (served as attachments). */
  @Column({ type: 'jsonb', nullable: true })
  files: Array<{ name: string; contentType: string; content: string }> | null;

  @Column({ type: 'text', nullable: true })
  error: string | null;

  @Column({ type: 'int', default: 0 })
  tokensUsed: number;

  /** What the activation sees (ActivationContext): the task, and the upstream documents it reads. */
  @Column({ type: 'jsonb', default: () => "'{}'" })
  context: ActivationContext;

  /** A code activation's model turns (Claude Code's num_turns, all sessions). */
  @Column({ type: 'int', default: 0 })
  numTurns: number;

  @Column({ type: 'varchar', length: 100, nullable: true })
  modelUsed: string | null;

  @Column({ type: 'int', default: 0 })
  inputTokens: number;

  @Column({ type: 'int', default: 0 })
  outputTokens: number;

  @Column({ type: 'int', default: 0 })
  cacheReadTokens: number;

  /** USD, from AGENTS_MODEL_PRICES at the time of each step. */
  @Column({
    type: 'numeric',
    precision: 14,
    scale: 6,
    default: 0,
    transformer: { to: (v: number) => v, from: (v: string | null) => Number(v ?? 0) },
  })
  costUsd: number;

  @Column({ type: 'int', nullable: true })
  executionMs: number | null;

  @Column({ type: 'boolean', default: false })
  cancelRequested: boolean;

  /** Until when the worker running it holds it; renewed by heartbeats. */
  @Column({ type: 'timestamptz', nullable: true })
  lockedUntil: Date | null;

  @Column({ type: 'int', default: 0 })
  runs: number;

  @Column({ type: 'timestamptz' })
  estimatedCompletionAt: Date;

  @Column({ type: 'timestamptz', nullable: true })
  startedAt: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  completedAt: Date | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
