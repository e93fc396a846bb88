import {
  DEPLOYMENT_COLUMNS,
  DeploymentApprovalRow,
  DeploymentDto,
  DeploymentRow,
  DeploymentStepRow,
  mapDeployment,
} from './deployment.dto';

export type RowQuery = <T>(text: string, values: unknown[]) => Promise<T[]>;

/** Deployments as the API shows them, with their steps and approvals (three queries whatever the count). */
export async function deploymentViews(query: RowQuery, rows: DeploymentRow[]): Promise<DeploymentDto[]> {
  if (!rows.length) return [];
  const ids = rows.map((r) => r.id);
  const [steps, approvals] = await Promise.all([
    query<DeploymentStepRow>(
      `SELECT deployment_id, position, name, action, phase, percent, colour, version, status, attempts, output, error,
              started_at, finished_at
         FROM deployment_steps WHERE deployment_id = ANY($1)`,
      [ids],
    ),
    query<DeploymentApprovalRow>(
      `SELECT deployment_id, user_id, position, status, comment, decided_at
         FROM deployment_approvals WHERE deployment_id = ANY($1)`,
      [ids],
    ),
  ]);
  return rows.map((r) => mapDeployment(r, steps, approvals));
}

export async function deploymentView(query: RowQuery, id: string): Promise<DeploymentDto> {
  const rows = await query<DeploymentRow>(`SELECT ${DEPLOYMENT_COLUMNS} FROM deployments d WHERE d.id = $1`, [
    id,
  ]);
  return (await deploymentViews(query, rows))[0];
}
