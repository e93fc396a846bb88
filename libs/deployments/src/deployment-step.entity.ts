import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { Colour, StepAction, StepStatus } from './deployment-plan';
import { DeploymentEntity } from './deployment.entity';

/** One step of a deployment's plan, as it ran. */
@Entity('deployment_steps')
export class DeploymentStepEntity {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  deploymentId: string;

  @ManyToOne(() => DeploymentEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'deployment_id', foreignKeyConstraintName: 'deployment_steps_deployment_fk' })
  deployment?: DeploymentEntity;

  @PrimaryColumn({ type: 'int' })
  position: number;

  @Column({ type: 'varchar', length: 64 })
  name: string;

  @Column({ type: 'varchar', length: 16 })
  action: StepAction;

  @Column({ type: 'varchar', length: 8 })
  phase: 'rollout' | 'restore';

  @Column({ type: 'int' })
  percent: number;

  @Column({ type: 'varchar', length: 8, nullable: true })
  colour: Colour | null;

  @Column({ type: 'varchar', length: 100 })
  version: string;

  @Column({ type: 'varchar', length: 16 })
  status: StepStatus;

  /** Runs of the step: health-check tries, and re-runs after a lost worker. */
  @Column({ type: 'int', default: 0 })
  attempts: number;

  /** The tail of what the target said (script output, HTTP answer). */
  @Column({ type: 'text', nullable: true })
  output: string | null;

  @Column({ type: 'text', nullable: true })
  error: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  startedAt: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  finishedAt: Date | null;
}
