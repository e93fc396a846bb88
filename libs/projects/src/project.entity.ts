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

export enum ProjectStatus {
  Active = 'active',
  Archived = 'archived',
}

export enum ProjectVisibility {
  Private = 'private',
  Internal = 'internal',
  Public = 'public',
}

@Entity('projects')
@Index('projects_key_key', ['key'], { unique: true })
@Index('projects_owner_idx', ['ownerId'])
export class ProjectEntity {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  id: string;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  /** 2-10 upper-case letters/digits; prefixes the task keys (ECOM-12), so it never changes. */
  @Column({ type: 'varchar', length: 10 })
  key: string;

  @Column({ type: 'text', nullable: true })
  description: string | null;

  @Column({ type: 'varchar', length: 40 })
  ownerId: string;

  /** An owner cannot be hard-deleted while they own projects. */
  @ManyToOne(() => UserEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'owner_id', foreignKeyConstraintName: 'projects_owner_fk' })
  owner?: UserEntity;

  @Column({ type: 'varchar', length: 16, default: ProjectStatus.Active })
  status: ProjectStatus;

  @Column({ type: 'varchar', length: 16, default: ProjectVisibility.Private })
  visibility: ProjectVisibility;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;

  @Column({ type: 'timestamptz', nullable: true })
  archivedAt: Date | null;

  /** USD the project's agent activations may spend per calendar month (UTC); null: no limit. */
  @Column({
    type: 'numeric',
    precision: 12,
    scale: 2,
    nullable: true,
    transformer: { to: (v: number | null) => v, from: (v: string | null) => (v === null ? null : Number(v)) },
  })
  monthlyBudgetUsd: number | null;

  // ---- the project's repository (all null: none) ----

  /** A git URL without credentials (those are in repositoryCredentials). */
  @Column({ type: 'varchar', length: 2048, nullable: true })
  repositoryUrl: string | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  repositoryDefaultBranch: string | null;

  /**
   * The project's main pipeline, one of its own. No foreign key: pipelines live a layer above
   * projects; deleting the pipeline clears it (PipelinesService.remove).
   */
  @Column({ type: 'varchar', length: 40, nullable: true })
  repositoryPipelineId: string | null;

  /** `{username, token}` sealed by SecretBox (AES-256-GCM, bound to the project's id): never shown. */
  @Column({ type: 'text', nullable: true })
  repositoryCredentials: string | null;
}
