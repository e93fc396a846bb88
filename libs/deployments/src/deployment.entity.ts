import { ProjectEntity } from '@app/projects';
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
import { ApplicationEntity } from './application.entity';
import { Colour, DeploymentStatus, Environment, Strategy } from './deployment-plan';

// At most one deployment runs per application and environment: the runner checks under the
// application_environments row lock, and the partial unique index makes it a fact of the schema.
@Entity('deployments')
@Index('deployments_running_key', ['applicationId', 'environment'], {
  unique: true,
  where: `status = 'in_progress'`,
})
@Index('deployments_queued_idx', ['applicationId', 'environment', 'queuedAt'], { where: `status = 'queued'` })
@Index('deployments_history_idx', ['applicationId', 'environment', 'startedAt'])
@Index('deployments_application_created_idx', ['applicationId', 'createdAt', 'id'])
@Index('deployments_project_created_idx', ['projectId', 'createdAt', 'id'])
@Index('deployments_lease_idx', ['lockedUntil'], { where: `status = 'in_progress'` })
export class DeploymentEntity {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  id: string;

  @Column({ type: 'varchar', length: 40 })
  applicationId: string;

  @ManyToOne(() => ApplicationEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'application_id', foreignKeyConstraintName: 'deployments_application_fk' })
  application?: ApplicationEntity;

  /** The application's project, kept here so visibility filters need no join through applications. */
  @Column({ type: 'varchar', length: 40 })
  projectId: string;

  @ManyToOne(() => ProjectEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'project_id', foreignKeyConstraintName: 'deployments_project_fk' })
  project?: ProjectEntity;

  @Column({ type: 'varchar', length: 16 })
  environment: Environment;

  @Column({ type: 'varchar', length: 100 })
  version: string;

  @Column({ type: 'varchar', length: 16 })
  strategy: Strategy;

  @Column({ type: 'varchar', length: 20 })
  status: DeploymentStatus;

  @Column({ type: 'varchar', length: 40, nullable: true })
  requestedBy: string | null;

  /** A rollback: the deployment it rolled back, and why. */
  @Column({ type: 'varchar', length: 40, nullable: true })
  rollbackOf: string | null;

  @Column({ type: 'text', nullable: true })
  rollbackReason: string | null;

  /** Set when this deployment was rolled back: the rollback deployment. */
  @Column({ type: 'varchar', length: 40, nullable: true })
  rolledBackBy: string | null;

  /** What was live when it started: what a failed rollout restores. */
  @Column({ type: 'varchar', length: 100, nullable: true })
  previousVersion: string | null;

  @Column({ type: 'varchar', length: 8, nullable: true })
  previousColour: Colour | null;

  @Column({ type: 'text', nullable: true })
  failureReason: string | null;

  /** Workers that took it up: 1 for a deployment that ran in one go, more after lost workers. */
  @Column({ type: 'int', default: 0 })
  runs: number;

  /** The lease of the worker running it: only the holder of the token writes its steps. */
  @Column({ type: 'varchar', length: 40, nullable: true })
  leaseToken: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  lockedUntil: Date | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @Column({ type: 'timestamptz', nullable: true })
  queuedAt: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  startedAt: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  finishedAt: Date | null;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
