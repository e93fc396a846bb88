import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { ApplicationEntity } from './application.entity';
import { Colour } from './deployment-plan';

/**
 * What runs in one environment of an application (version, and the live colour for blue-green).
 * Its row is also the lock that serialises the deployments of that application and environment.
 */
@Entity('application_environments')
export class ApplicationEnvironmentEntity {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  applicationId: string;

  @ManyToOne(() => ApplicationEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'application_id', foreignKeyConstraintName: 'application_environments_application_fk' })
  application?: ApplicationEntity;

  @PrimaryColumn({ type: 'varchar', length: 16 })
  environment: string;

  @Column({ type: 'varchar', length: 100, nullable: true })
  liveVersion: string | null;

  @Column({ type: 'varchar', length: 8, nullable: true })
  liveColour: Colour | null;

  @Column({ type: 'varchar', length: 40, nullable: true })
  liveDeploymentId: string | null;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
