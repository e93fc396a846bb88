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
}
