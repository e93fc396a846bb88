import { AppError } from '@app/core';
import { DeploymentStatus } from './deployment-plan';

export interface DeploymentFact {
  id: string;
  version: string;
  status: DeploymentStatus;
  startedAt: Date | null;
}

/**
 * What a rollback of `current` deploys. Only the current deployment of its application and
 * environment (nothing started after it) that has finished may be rolled back. The target is
 * `targetVersion` when given, which must have succeeded there before; by default the last version
 * that succeeded there before the current one (other than the current version).
 */
export function chooseRollbackTarget(
  current: DeploymentFact,
  history: DeploymentFact[],
  targetVersion?: string,
): { version: string; deploymentId: string } {
  if (current.status !== 'succeeded' && current.status !== 'failed')
    throw AppError.conflict(
      `Only a succeeded or failed deployment can be rolled back (this one is ${current.status})`,
      {
        status: current.status,
      },
    );
  const startedAt = current.startedAt!.getTime();
  const later = history.find((d) => d.id !== current.id && d.startedAt && d.startedAt.getTime() > startedAt);
  if (later)
    throw AppError.conflict('Only the current deployment of an environment can be rolled back', {
      currentDeploymentId: later.id,
    });
  const earlier = history
    .filter(
      (d) =>
        d.id !== current.id && d.status === 'succeeded' && d.startedAt && d.startedAt.getTime() < startedAt,
    )
    .sort((a, b) => b.startedAt!.getTime() - a.startedAt!.getTime());
  if (targetVersion !== undefined) {
    if (targetVersion === current.version)
      throw AppError.validation([
        {
          field: 'targetVersion',
          message: 'targetVersion is the version being rolled back',
          code: 'same_version',
        },
      ]);
    const match = earlier.find((d) => d.version === targetVersion);
    if (!match)
      throw AppError.validation([
        {
          field: 'targetVersion',
          message: `${targetVersion} has not succeeded in this environment before this deployment`,
          code: 'unknown_version',
        },
      ]);
    return { version: match.version, deploymentId: match.id };
  }
  const previous = earlier.find((d) => d.version !== current.version);
  if (!previous)
    throw AppError.conflict('There is no earlier successful version in this environment to roll back to', {
      deploymentId: current.id,
    });
  return { version: previous.version, deploymentId: previous.id };
}
