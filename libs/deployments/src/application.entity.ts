import { ProjectEntity } from '@app/projects';
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

/** Something a project deploys, and the target that carries its deployments out. */
@Entity('applications')
@Index('applications_project_name_key', ['projectId', 'name'], { unique: true })
@Index('applications_project_created_idx', ['projectId', 'createdAt', 'id'])
export class ApplicationEntity {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  id: string;

  @Column({ type: 'varchar', length: 40 })
  projectId: string;

  @ManyToOne(() => ProjectEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'project_id', foreignKeyConstraintName: 'applications_project_fk' })
  project?: ProjectEntity;

  @Column({ type: 'varchar', length: 100 })
  name: string;

  @Column({ type: 'varchar', length: 500, nullable: true })
  description: string | null;

  /** The deploy target's kind (`script`, `webhook`, ...): which DeployTarget runs the steps. */
  @Column({ type: 'varchar', length: 32 })
  targetType: string;

  /** The target's settings as its DeployTarget parsed them; never a secret. */
  @Column({ type: 'jsonb' })
  targetConfig: Record<string, unknown>;

  /** A target's signing secret (webhook), needed in clear to sign; shown once at creation. */
  @Column({ type: 'varchar', length: 200, nullable: true, select: false })
  targetSecret: string | null;

  @Column({ type: 'varchar', length: 40, nullable: true })
  createdBy: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
