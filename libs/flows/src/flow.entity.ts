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

/** Where a flow deploys its merged commit (through the deployments module; prod keeps its approvals). */
export interface FlowDeployTo {
  environment: 'dev' | 'test' | 'staging' | 'prod';
  applicationId: string;
  /** The approvers of the deployment (prod needs them; never the flow's creator). */
  approvals?: string[];
}

/** The flow's deployment as last seen. */
export interface FlowDeployment {
  deploymentId: string;
  environment: string;
  applicationId: string;
  version: string;
  status: string;
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

  /** Where the merged change is deployed, if anywhere. */
  @Column({ type: 'jsonb', nullable: true })
  deployTo: FlowDeployTo | null;

  /** The deployment of the merged commit, once created, with the status last seen. */
  @Column({ type: 'jsonb', nullable: true })
  deployment: FlowDeployment | null;

  /** A person approved the merge gate. */
  @Column({ type: 'boolean', default: false })
  mergeApproved: boolean;

  /** The change whose merge the flow asked for (the change's merge job runs it). */
  @Column({ type: 'varchar', length: 40, nullable: true })
  mergingChangeId: string | null;

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

export const FLOW_EVENT_TYPES = ['stage', 'gate', 'merge', 'deployment', 'flow'] as const;
export type FlowEventType = (typeof FLOW_EVENT_TYPES)[number];

/**
 * What happened to a flow itself (a stage started or ended, a gate, the merge, the deployment,
 * the end), written with the transition. Its ids come from the sequence of the activations'
 * events, so the flow's stream interleaves both by id and resumes with one Last-Event-ID.
 */
@Entity('flow_events')
@Index('flow_events_flow_idx', ['flowId', 'id'])
export class FlowEventEntity {
  /** nextval('agent_activation_events_id_seq'), given by the insert. */
  @PrimaryColumn({ type: 'bigint' })
  id: string;

  @Column({ type: 'varchar', length: 40 })
  flowId: string;

  @ManyToOne(() => FlowEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'flow_id', foreignKeyConstraintName: 'flow_events_flow_fk' })
  flow?: FlowEntity;

  @Column({ type: 'varchar', length: 16 })
  type: FlowEventType;

  @Column({ type: 'jsonb' })
  data: Record<string, unknown>;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;
}
