import { SandboxNetwork } from '@app/runner';
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

/** One stage of a pipeline: its commands run one after the other in a shell, within the timeout. */
export interface StageDefinition {
  name: string;
  commands: string[];
  timeoutSeconds: number;
}

/** A CI/CD pipeline of a project: where the code is, what to run on it, what to keep. */
@Entity('pipelines')
@Index('pipelines_project_name_key', ['projectId', 'name'], { unique: true })
@Index('pipelines_project_created_idx', ['projectId', 'createdAt', 'id'])
export class PipelineEntity {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  id: string;

  @Column({ type: 'varchar', length: 40 })
  projectId: string;

  @ManyToOne(() => ProjectEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'project_id', foreignKeyConstraintName: 'pipelines_project_fk' })
  project?: ProjectEntity;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ type: 'text', nullable: true })
  description: string | null;

  /**
   * Any git URL (https, ssh, git, file); may hold credentials, which are never shown back. Null:
   * the pipeline follows its project's repository (URL and credentials, as they are at each trigger).
   */
  @Column({ type: 'varchar', length: 2048, nullable: true })
  repositoryUrl: string | null;

  /** Null: the project's repository's default branch (only for a pipeline following it). */
  @Column({ type: 'varchar', length: 255, nullable: true })
  defaultBranch: string | null;

  @Column({ type: 'jsonb' })
  stages: StageDefinition[];

  /** Globs of the files to keep after a successful build, relative to the checkout. */
  @Column({ type: 'text', array: true, default: () => "'{}'" })
  artifacts: string[];

  /** none | internet: whether the build's commands may reach the internet. */
  @Column({ type: 'varchar', length: 16, default: 'none' })
  network: SandboxNetwork;

  @Column({ type: 'varchar', length: 40, nullable: true })
  createdBy: string | null;

  @ManyToOne(() => UserEntity, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'created_by', foreignKeyConstraintName: 'pipelines_created_by_fk' })
  creator?: UserEntity;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
