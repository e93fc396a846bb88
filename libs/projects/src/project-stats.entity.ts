import { Column, Entity, JoinColumn, OneToOne, PrimaryColumn } from 'typeorm';
import { ProjectEntity } from './project.entity';

/**
 * Counts of facts owned by downstream modules (tasks, PRDs, deployments). Each of those modules
 * adjusts its counter in its own transaction (ProjectStatsService.adjust), so this library
 * imports none of them and reading a project costs no COUNT(*).
 */
@Entity('project_stats')
export class ProjectStatsEntity {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  projectId: string;

  @OneToOne(() => ProjectEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'project_id', foreignKeyConstraintName: 'project_stats_project_fk' })
  project?: ProjectEntity;

  @Column({ type: 'int', default: 0 })
  totalTasks: number;

  @Column({ type: 'int', default: 0 })
  completedTasks: number;

  @Column({ type: 'int', default: 0 })
  totalPrds: number;

  @Column({ type: 'int', default: 0 })
  totalDeployments: number;
}
