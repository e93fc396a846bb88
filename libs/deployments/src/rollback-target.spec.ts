import { AppError } from '@app/core';
import { chooseRollbackTarget, DeploymentFact } from './rollback-target';

let minute = 0;
const dep = (id: string, version: string, status: DeploymentFact['status']): DeploymentFact => ({
  id,
  version,
  status,
  startedAt:
    status === 'queued' || status === 'pending_approval'
      ? null
      : new Date(Date.UTC(2026, 2, 14, 12, ++minute)),
});
const error = (fn: () => unknown): AppError => {
  try {
    fn();
  } catch (err) {
    return err as AppError;
  }
  throw new Error('did not throw');
};

describe('chooseRollbackTarget', () => {
  const v1 = dep('dep_1', '1.0.0', 'succeeded');
  const broken = dep('dep_2', '1.1.0', 'failed');
  const v2 = dep('dep_3', '2.0.0', 'succeeded');
  const v2again = dep('dep_4', '2.0.0', 'succeeded');
  const history = [v1, broken, v2, v2again];

  it('defaults to the last version that succeeded before the current one, skipping failures and the same version', () => {
    expect(chooseRollbackTarget(v2again, history)).toEqual({ version: '1.0.0', deploymentId: 'dep_1' });
    expect(chooseRollbackTarget(v2, history.slice(0, 3))).toEqual({
      version: '1.0.0',
      deploymentId: 'dep_1',
    });
  });

  it('rolls a failed current deployment back too', () => {
    expect(chooseRollbackTarget(broken, history.slice(0, 2))).toEqual({
      version: '1.0.0',
      deploymentId: 'dep_1',
    });
  });

  it('takes an explicit targetVersion that succeeded there before', () => {
    const v3 = dep('dep_5', '3.0.0', 'succeeded');
    expect(chooseRollbackTarget(v3, [...history, v3], '1.0.0')).toEqual({
      version: '1.0.0',
      deploymentId: 'dep_1',
    });
    expect(chooseRollbackTarget(v3, [...history, v3], '2.0.0')).toEqual({
      version: '2.0.0',
      deploymentId: 'dep_4',
    });
  });

  it('refuses a targetVersion that never succeeded there, or is the current one (422)', () => {
    expect(error(() => chooseRollbackTarget(v2again, history, '1.1.0')).details).toEqual({
      fields: [expect.objectContaining({ field: 'targetVersion', code: 'unknown_version' })],
    });
    expect(error(() => chooseRollbackTarget(v2again, history, '9.9.9')).code).toBe('VALIDATION_ERROR');
    expect(error(() => chooseRollbackTarget(v2again, history, '2.0.0')).details).toEqual({
      fields: [expect.objectContaining({ code: 'same_version' })],
    });
  });

  it('is 409 with no earlier successful version', () => {
    expect(error(() => chooseRollbackTarget(v1, [v1])).code).toBe('CONFLICT');
    expect(error(() => chooseRollbackTarget(broken, [broken])).code).toBe('CONFLICT');
  });

  it('is 409 for a deployment that is not the current one of its environment', () => {
    const e = error(() => chooseRollbackTarget(v2, history));
    expect(e.code).toBe('CONFLICT');
    expect(e.details).toEqual({ currentDeploymentId: 'dep_4' });
  });

  it('is 409 for a deployment that has not finished or was already rolled back', () => {
    for (const status of ['pending_approval', 'queued', 'in_progress', 'rejected', 'rolled_back'] as const)
      expect(error(() => chooseRollbackTarget({ ...v2again, status }, history)).code).toBe('CONFLICT');
  });
});
