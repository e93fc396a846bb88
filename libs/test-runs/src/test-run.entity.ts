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
import { TestSuiteEntity } from './test-suite.entity';

export const TEST_RUN_STATUSES = ['queued', 'running', 'passed', 'failed', 'error'] as const;
export type TestRunStatus = (typeof TEST_RUN_STATUSES)[number];
export const FINISHED_RUN_STATUSES: readonly TestRunStatus[] = ['passed', 'failed', 'error'];

/** One run of a suite: the environment it was given, what the command did, the report's totals. */
@Entity('test_runs')
@Index('test_runs_suite_created_idx', ['suiteId', 'createdAt', 'id'])
@Index('test_runs_project_idx', ['projectId'])
@Index('test_runs_running_idx', ['lockedUntil'], { where: `status = 'running'` })
@Index('test_runs_queued_idx', ['createdAt', 'id'], { where: `status = 'queued'` })
export class TestRunEntity {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  id: string;

  @Column({ type: 'varchar', length: 40 })
  suiteId: string;

  @ManyToOne(() => TestSuiteEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'suite_id', foreignKeyConstraintName: 'test_runs_suite_fk' })
  suite?: TestSuiteEntity;

  @Column({ type: 'varchar', length: 40 })
  projectId: string;

  @ManyToOne(() => ProjectEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'project_id', foreignKeyConstraintName: 'test_runs_project_fk' })
  project?: ProjectEntity;

  @Column({ type: 'varchar', length: 16 })
  status: TestRunStatus;

  @Column({ type: 'varchar', length: 64, nullable: true })
  environment: string | null;

  @Column({ type: 'text', array: true })
  browsers: string[];

  @Column({ type: 'smallint' })
  parallel: number;

  @Column({ type: 'varchar', length: 40, nullable: true })
  triggeredBy: string | null;

  @ManyToOne(() => UserEntity, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'triggered_by', foreignKeyConstraintName: 'test_runs_triggered_by_fk' })
  trigger?: UserEntity;

  @Column({ type: 'varchar', length: 64, nullable: true })
  commitSha: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  startedAt: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  finishedAt: Date | null;

  @Column({ type: 'int', nullable: true })
  exitCode: number | null;

  /** Why the run is `error`: no report, a malformed one, a timeout, a refused working directory. */
  @Column({ type: 'text', nullable: true })
  error: string | null;

  /** The end of the command's output. */
  @Column({ type: 'text', nullable: true })
  logTail: string | null;

  // The report's totals (null until a report was read).
  @Column({ type: 'int', nullable: true })
  total: number | null;

  @Column({ type: 'int', nullable: true })
  passed: number | null;

  @Column({ type: 'int', nullable: true })
  failed: number | null;

  @Column({ type: 'int', nullable: true })
  skipped: number | null;

  @Column({ type: 'int', nullable: true })
  errors: number | null;

  /** Seconds, as the report gives them. */
  @Column({ type: 'numeric', precision: 14, scale: 3, nullable: true })
  duration: string | null;

  @Column({ type: 'int', default: 0 })
  attempts: number;

  @Column({ type: 'varchar', length: 200, nullable: true })
  lockedBy: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  lockedUntil: Date | null;

  @Column({ type: 'int', nullable: true })
  processGroup: number | null;

  /** Also triggeredAt. */
  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
