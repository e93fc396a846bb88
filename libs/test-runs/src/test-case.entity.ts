import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { CaseStatus } from '@app/core';
import { TestRunEntity } from './test-run.entity';

/** Every case of a run's JUnit report, in report order. */
@Entity('test_cases')
export class TestCaseEntity {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  runId: string;

  @ManyToOne(() => TestRunEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'run_id', foreignKeyConstraintName: 'test_cases_run_fk' })
  run?: TestRunEntity;

  @PrimaryColumn({ type: 'int' })
  position: number;

  @Column({ type: 'text' })
  suite: string;

  @Column({ type: 'text', nullable: true })
  classname: string | null;

  @Column({ type: 'text' })
  name: string;

  /** Seconds. */
  @Column({ type: 'numeric', precision: 14, scale: 3 })
  time: string;

  @Column({ type: 'varchar', length: 16 })
  status: CaseStatus;

  @Column({ type: 'text', nullable: true })
  message: string | null;

  @Column({ type: 'text', nullable: true })
  details: string | null;
}
