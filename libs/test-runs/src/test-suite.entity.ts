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

/**
 * A test suite of a project: a command run in a checkout of a repository (or in a directory on
 * the workers, inside TESTS_WORKDIR_ROOTS) that writes a JUnit XML report at reportPath.
 */
@Entity('test_suites')
@Index('test_suites_project_name_key', ['projectId', 'name'], { unique: true })
@Index('test_suites_project_created_idx', ['projectId', 'createdAt', 'id'])
export class TestSuiteEntity {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  id: string;

  @Column({ type: 'varchar', length: 40 })
  projectId: string;

  @ManyToOne(() => ProjectEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'project_id', foreignKeyConstraintName: 'test_suites_project_fk' })
  project?: ProjectEntity;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ type: 'text', nullable: true })
  description: string | null;

  /** Either a repository (checked out fresh for every run) ... */
  @Column({ type: 'varchar', length: 2048, nullable: true })
  repositoryUrl: string | null;

  /** ... at this branch (null: the repository's default branch) ... */
  @Column({ type: 'varchar', length: 255, nullable: true })
  branch: string | null;

  /** ... or a directory on the workers. */
  @Column({ type: 'varchar', length: 1024, nullable: true })
  workingDirectory: string | null;

  @Column({ type: 'text' })
  command: string;

  /** Relative to the checkout or working directory. */
  @Column({ type: 'varchar', length: 1024 })
  reportPath: string;

  @Column({ type: 'int' })
  timeoutSeconds: number;

  @Column({ type: 'varchar', length: 40, nullable: true })
  createdBy: string | null;

  @ManyToOne(() => UserEntity, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'created_by', foreignKeyConstraintName: 'test_suites_created_by_fk' })
  creator?: UserEntity;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
