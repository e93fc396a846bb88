import { Injectable } from '@nestjs/common';
import { Tx } from '@app/core';

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

/** For downstream modules: move a project's counters inside the transaction that changed the facts. */
@Injectable()
export class ProjectStatsService {
  async adjust(tx: Tx, projectId: string, delta: ProjectStatsDelta): Promise<void> {
    const entries = Object.entries(delta).filter(([, v]) => v) as Array<[keyof ProjectStatsDelta, number]>;
    if (!entries.length) return;
    const sets = entries.map(([k], i) => `${COLUMNS[k]} = ${COLUMNS[k]} + $${i + 2}`).join(', ');
    await tx.manager.query(`UPDATE project_stats SET ${sets} WHERE project_id = $1`, [
      projectId,
      ...entries.map(([, v]) => v),
    ]);
  }
}
