import { ProjectEntity } from '@app/projects';
import { UserEntity } from '@app/users';
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
import { PipelineEntity } from './pipeline.entity';

export const BUILD_STATUSES = ['queued', 'running', 'success', 'failed', 'cancelled'] as const;
export type BuildStatus = (typeof BUILD_STATUSES)[number];
export const FINISHED_BUILD_STATUSES: readonly BuildStatus[] = ['success', 'failed', 'cancelled'];

export const STAGE_STATUSES = ['pending', 'running', 'success', 'failed', 'skipped', 'cancelled'] as const;
export type StageStatus = (typeof STAGE_STATUSES)[number];

export const ENVIRONMENTS = ['dev', 'test', 'staging', 'prod'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** The platform's own first stage: git clone + checkout of the branch or commit. */
export const CHECKOUT_STAGE = 'checkout';

/** A stage of one build: the pipeline's definition when it was triggered, and what happened. */
export interface BuildStage {
  name: string;
  commands: string[];
  timeoutSeconds: number;
  status: StageStatus;
  /** Commands finished, for the running stage's progress. */
  commandsDone?: number;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  exitCode?: number | null;
  /** Why it failed: "exited with code 2", "timed out after 5 s". */
  reason?: string;
}

/** A stored artifact: `file` is its key in the FileStore under builds/<buildId>/ (see artifact-keys). */
import type { SandboxNetwork, StoredArtifact } from '@app/runner';
export type { StoredArtifact };

// The queue (position and estimate) reads queued builds in trigger order, the lease sweep the
// running ones: small partial indexes. The estimate reads the latest finished builds of a
// pipeline, and of the platform when the pipeline has none.
@Entity('builds')
@Index('builds_pipeline_created_idx', ['pipelineId', 'createdAt', 'id'])
@Index('builds_pipeline_finished_idx', ['pipelineId', 'finishedAt'])
@Index('builds_project_idx', ['projectId'])
// The latest build of a commit (a change's merge check).
@Index('builds_project_commit_sha_idx', ['projectId', 'commitSha'])
@Index('builds_queued_idx', ['createdAt', 'id'], { where: `status = 'queued'` })
@Index('builds_running_idx', ['lockedUntil'], { where: `status = 'running'` })
@Index('builds_finished_idx', ['finishedAt'], { where: `status IN ('success', 'failed')` })
export class BuildEntity {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  id: string;

  @Column({ type: 'varchar', length: 40 })
  pipelineId: string;

  @ManyToOne(() => PipelineEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'pipeline_id', foreignKeyConstraintName: 'builds_pipeline_fk' })
  pipeline?: PipelineEntity;

  /** The pipeline's project, for access checks without a join. */
  @Column({ type: 'varchar', length: 40 })
  projectId: string;

  @ManyToOne(() => ProjectEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'project_id', foreignKeyConstraintName: 'builds_project_fk' })
  project?: ProjectEntity;

  @Column({ type: 'varchar', length: 16 })
  status: BuildStatus;

  @Column({ type: 'varchar', length: 255 })
  branch: string;

  /** The commit asked for, if any. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  commit: string | null;

  /** The commit actually checked out. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  commitSha: string | null;

  @Column({ type: 'varchar', length: 16, nullable: true })
  environment: Environment | null;

  @Column({ type: 'boolean', default: false })
  skipTests: boolean;

  /** Values for the commands' environment; emptied when the build ends (names stay in variableNames). */
  @Column({ type: 'jsonb', default: () => "'{}'" })
  variables: Record<string, string>;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  variableNames: string[];

  /** Snapshot of the pipeline when triggered: later edits do not change a queued build. */
  @Column({ type: 'varchar', length: 2048 })
  repositoryUrl: string;

  /**
   * The URL came from the project's repository, whose credentials (if any) the worker decrypts for
   * the checkout; they are never copied into the build.
   */
  @Column({ type: 'boolean', default: false })
  projectCredentials: boolean;

  @Column({ type: 'jsonb' })
  stages: BuildStage[];

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  artifactGlobs: string[];

  @Column({ type: 'jsonb', default: () => "'[]'" })
  artifacts: StoredArtifact[];

  /** The pipeline's network choice when the build was triggered. */
  @Column({ type: 'varchar', length: 16, default: 'none' })
  network: SandboxNetwork;

  @Column({ type: 'varchar', length: 200, nullable: true })
  currentStage: string | null;

  @Column({ type: 'smallint', default: 0 })
  progress: number;

  @Column({ type: 'text', nullable: true })
  error: string | null;

  @Column({ type: 'varchar', length: 40, nullable: true })
  triggeredBy: string | null;

  @ManyToOne(() => UserEntity, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'triggered_by', foreignKeyConstraintName: 'builds_triggered_by_fk' })
  trigger?: UserEntity;

  @Column({ type: 'timestamptz', nullable: true })
  startedAt: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  finishedAt: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  cancelRequestedAt: Date | null;

  @Column({ type: 'int', default: 0 })
  attempts: number;

  /** The worker running it (host:pid:nonce) and until when its lease holds. */
  @Column({ type: 'varchar', length: 200, nullable: true })
  lockedBy: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  lockedUntil: Date | null;

  /** Process group of the command running now, so a sweep on the same host can kill an orphan. */
  @Column({ type: 'int', nullable: true })
  processGroup: number | null;

  /** The last event number of its log (build_log_events.seq). */
  @Column({ type: 'int', default: 0 })
  logSeq: number;

  @Column({ type: 'bigint', default: 0 })
  logBytes: string;

  /** Also triggeredAt. */
  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
