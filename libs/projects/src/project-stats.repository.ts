import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Sql } from '@app/core';
import { EntityManager, In, Repository } from 'typeorm';
import { ProjectStatsEntity } from './project-stats.entity';

/** The counters of project_stats a downstream module may move. */
export interface ProjectStatsDelta {
  totalTasks?: number;
  completedTasks?: number;
  totalPrds?: number;
  totalDeployments?: number;
}

const COLUMNS: Record<keyof ProjectStatsDelta, string> = {
  totalTasks: 'total_tasks',
  completedTasks: 'completed_tasks',
  totalPrds: 'total_prds',
  totalDeployments: 'total_deployments',
};

/** Every statement on the project_stats table. */
@Injectable()
export class ProjectStatsRepository {
  constructor(
    @InjectRepository(ProjectStatsEntity) private readonly stats: Repository<ProjectStatsEntity>,
    private readonly sql: Sql,
  ) {}

  /** A project's counters row, all zero. */
  async insert(manager: EntityManager, projectId: string): Promise<void> {
    await manager.insert(ProjectStatsEntity, { projectId });
  }

  ofProjects(projectIds: string[], manager?: EntityManager): Promise<ProjectStatsEntity[]> {
    return (manager ?? this.stats.manager).find(ProjectStatsEntity, { where: { projectId: In(projectIds) } });
  }

  /** Adds the non-zero deltas to the counters, in one statement of the caller's transaction. */
  async adjust(manager: EntityManager, projectId: string, delta: ProjectStatsDelta): Promise<void> {
    const entries = Object.entries(delta).filter(([, v]) => v) as Array<[keyof ProjectStatsDelta, number]>;
    if (!entries.length) return;
    const sets = entries.map(([k], i) => `${COLUMNS[k]} = ${COLUMNS[k]} + $${i + 2}`).join(', ');
    await this.sql.exec(
      `UPDATE project_stats SET ${sets} WHERE project_id = $1`,
      [projectId, ...entries.map(([, v]) => v)],
      manager,
    );
  }
}
