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

export const CHANGE_STATUSES = ['open', 'merged', 'closed'] as const;
export type ChangeStatus = (typeof CHANGE_STATUSES)[number];

/** One commit of a change, as `git log base..head` lists it. */
export interface ChangeCommit {
  sha: string;
  message: string;
  /** `Name <email>` */
  author: string;
}

export interface DiffStat {
  files: number;
  additions: number;
  deletions: number;
}

/**
 * A change: the reviewable unit (a merge request) of a branch. The schema is the migration's
 * (migrations/1796300000000-Changes.ts); SQL is in ChangesRepository.
 */
@Entity('changes')
@Index('changes_project_status_created_idx', ['projectId', 'status', 'createdAt', 'id'])
@Index('changes_project_created_idx', ['projectId', 'createdAt', 'id'])
@Index('changes_open_branch_uq', ['projectId', 'branch'], { unique: true, where: `status = 'open'` })
export class ChangeEntity {
  @PrimaryColumn({ type: 'varchar', length: 40, primaryKeyConstraintName: 'PK_changes' })
  id: string;

  @Column({ type: 'varchar', length: 40 })
  projectId: string;

  @ManyToOne(() => ProjectEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'project_id', foreignKeyConstraintName: 'changes_project_fk' })
  project?: ProjectEntity;

  @Column({ type: 'varchar', length: 40, nullable: true })
  taskId: string | null;

  @Column({ type: 'varchar', length: 40, nullable: true })
  activationId: string | null;

  /** Where the branch is; never holds credentials (refused when opening). Not shown back. */
  @Column({ type: 'varchar', length: 2048 })
  repositoryUrl: string;

  @Column({ type: 'varchar', length: 255 })
  branch: string;

  @Column({ type: 'varchar', length: 255 })
  baseBranch: string;

  @Column({ type: 'varchar', length: 64 })
  baseSha: string;

  @Column({ type: 'varchar', length: 64 })
  headSha: string;

  @Column({ type: 'jsonb', default: () => "'[]'" })
  commits: ChangeCommit[];

  @Column({ type: 'jsonb' })
  diffStat: DiffStat;

  /** `git diff base...head` at the head, at most CHANGE_DIFF_MAX_BYTES. */
  @Column({ type: 'text', default: '' })
  diff: string;

  @Column({ type: 'boolean', default: false })
  diffTruncated: boolean;

  @Column({ type: 'varchar', length: 16 })
  status: ChangeStatus;

  /** The build named when the change was opened (the read model shows the latest build of the head). */
  @Column({ type: 'varchar', length: 40, nullable: true })
  buildId: string | null;

  /** Set while a merge is queued or running; cleared when it fails. */
  @Column({ type: 'timestamptz', nullable: true })
  mergeRequestedAt: Date | null;

  @Column({ type: 'varchar', length: 40, nullable: true })
  mergeRequestedBy: string | null;

  @ManyToOne(() => UserEntity, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'merge_requested_by', foreignKeyConstraintName: 'changes_merge_requested_by_fk' })
  mergeRequestedUser?: UserEntity;

  /** The head the merge was accepted for: a change that moved on since is not merged. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  mergeHeadSha: string | null;

  @Column({ type: 'boolean', default: false })
  mergeForced: boolean;

  /** Why the last merge failed (a conflict, a refused push); the change stays open. */
  @Column({ type: 'text', nullable: true })
  mergeError: string | null;

  /** The commit the base branch points at after the merge. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  mergeSha: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  mergedAt: Date | null;

  @Column({ type: 'varchar', length: 40, nullable: true })
  mergedBy: string | null;

  @ManyToOne(() => UserEntity, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'merged_by', foreignKeyConstraintName: 'changes_merged_by_fk' })
  mergedUser?: UserEntity;

  @Column({ type: 'timestamptz', nullable: true })
  closedAt: Date | null;

  @Column({ type: 'varchar', length: 40, nullable: true })
  closedBy: string | null;

  @ManyToOne(() => UserEntity, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'closed_by', foreignKeyConstraintName: 'changes_closed_by_fk' })
  closedUser?: UserEntity;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
