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

export const FLOW_STATUSES = [
  'running',
  'awaiting_approval',
  'completed',
  'failed',
  'rejected',
  'cancelled',
] as const;
export type FlowStatus = (typeof FLOW_STATUSES)[number];
export const FINISHED_FLOW_STATUSES: readonly FlowStatus[] = ['completed', 'failed', 'rejected', 'cancelled'];

export type FlowStageStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';

/** One stage of a flow: one activation of one agent. */
export interface FlowStage {
  name: string;
  status: FlowStageStatus;
  activationId: string | null;
  /** The change the stage's agent opened or added to (code stages). */
  changeId: string | null;
  /** What a person said when approving the gate before this stage (reaches its prompt). */
  feedback: string | null;
  startedAt: string | null;
  completedAt: string | null;
  error: string | null;
}

/** A task taken through the agents in order, stopping at its gates for a person. */
@Entity('flows')
@Index('flows_task_idx', ['taskId', 'createdAt'])
@Index('flows_status_idx', ['status', 'updatedAt'])
export class FlowEntity {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  id: string;

  @Column({ type: 'varchar', length: 40 })
  projectId: string;

  @ManyToOne(() => ProjectEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'project_id', foreignKeyConstraintName: 'flows_project_fk' })
  project?: ProjectEntity;

  @Column({ type: 'varchar', length: 40 })
  taskId: string;

  @ManyToOne(() => TaskEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'task_id', foreignKeyConstraintName: 'flows_task_fk' })
  task?: TaskEntity;

  @Column({ type: 'varchar', length: 24 })
  status: FlowStatus;

  @Column({ type: 'jsonb' })
  stages: FlowStage[];

  /** The stage under way (stages.length: past the last stage, at the merge). */
  @Column({ type: 'int', default: 0 })
  current: number;

  @Column({ type: 'jsonb' })
  gates: string[];

  /** The gate the flow waits at (a stage name, or merge). */
  @Column({ type: 'varchar', length: 32, nullable: true })
  gate: string | null;

  /** An approval's comment, for the next stage's prompt. */
  @Column({ type: 'text', nullable: true })
  feedback: string | null;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  config: Record<string, unknown>;

  @Column({ type: 'varchar', length: 40, nullable: true })
  changeId: string | null;

  /** A person approved the merge gate. */
  @Column({ type: 'boolean', default: false })
  mergeApproved: boolean;

  /** The merge was asked for (the change's merge job runs it). */
  @Column({ type: 'boolean', default: false })
  mergeRequested: boolean;

  @Column({ type: 'text', nullable: true })
  error: string | null;

  @Column({ type: 'varchar', length: 40 })
  createdBy: string;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;

  @Column({ type: 'timestamptz', nullable: true })
  completedAt: Date | null;
}
