import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { ApprovalStatus } from './approval-state';
import { DeploymentEntity } from './deployment.entity';

/** One named approver of a deployment and their decision. */
@Entity('deployment_approvals')
export class DeploymentApprovalEntity {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  deploymentId: string;

  @ManyToOne(() => DeploymentEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'deployment_id', foreignKeyConstraintName: 'deployment_approvals_deployment_fk' })
  deployment?: DeploymentEntity;

  @PrimaryColumn({ type: 'varchar', length: 40 })
  userId: string;

  /** Order as listed in the request. */
  @Column({ type: 'int' })
  position: number;

  @Column({ type: 'varchar', length: 16 })
  status: ApprovalStatus;

  @Column({ type: 'text', nullable: true })
  comment: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  decidedAt: Date | null;
}
