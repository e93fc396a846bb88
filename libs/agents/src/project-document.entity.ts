import { ProjectEntity } from '@app/projects';
import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';

/** A document an agent wrote for a project; kind `prd` counts in the project's stats. */
@Entity('project_documents')
@Index('project_documents_project_idx', ['projectId', 'createdAt'])
@Index('project_documents_activation_key', ['activationId'], { unique: true })
@Index('project_documents_kind_idx', ['projectId', 'kind', 'createdAt'])
export class ProjectDocumentEntity {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  id: string;

  @Column({ type: 'varchar', length: 40 })
  projectId: string;

  @ManyToOne(() => ProjectEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'project_id', foreignKeyConstraintName: 'project_documents_project_fk' })
  project?: ProjectEntity;

  @Column({ type: 'varchar', length: 40, nullable: true })
  taskId: string | null;

  @Column({ type: 'varchar', length: 40 })
  activationId: string;

  @Column({ type: 'varchar', length: 32 })
  kind: string;

  /** 1, 2, ...: the task's documents of this kind in the order they were written (the project's, without a task). */
  @Column({ type: 'int', default: 1 })
  version: number;

  @Column({ type: 'varchar', length: 300 })
  title: string;

  @Column({ type: 'varchar', length: 16 })
  format: 'markdown' | 'json';

  @Column({ type: 'text' })
  content: string;

  @Column({ type: 'varchar', length: 40, nullable: true })
  createdBy: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;
}
