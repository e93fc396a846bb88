import { Injectable } from '@nestjs/common';
import { Tx } from '@app/core';
import { ProjectStatsDelta, ProjectStatsRepository } from './project-stats.repository';

export type { ProjectStatsDelta } from './project-stats.repository';

/** For downstream modules: move a project's counters inside the transaction that changed the facts. */
@Injectable()
export class ProjectStatsService {
  constructor(private readonly stats: ProjectStatsRepository) {}

  adjust(tx: Tx, projectId: string, delta: ProjectStatsDelta): Promise<void> {
    return this.stats.adjust(tx.manager, projectId, delta);
  }
}
