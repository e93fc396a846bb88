import { AppError, Role } from '@app/core';
import { Approval, approverProblems, ApproverCandidate, decide } from './approval-state';

const user = (id: string, over: Partial<ApproverCandidate> = {}): ApproverCandidate => ({
  id,
  role: Role.ProductManager,
  status: 'active',
  canSeeProject: true,
  ...over,
});

describe('approverProblems', () => {
  it('requires approvals for prod only', () => {
    expect(approverProblems('prod', 'usr_req', [], [])).toEqual([
      expect.objectContaining({ field: 'approvals', code: 'required' }),
    ]);
    expect(approverProblems('staging', 'usr_req', [], [])).toEqual([]);
  });

  it('accepts active users of any role that may approve and can see the project', () => {
    const ids = ['usr_a', 'usr_b', 'usr_c'];
    expect(
      approverProblems('prod', 'usr_req', ids, [
        user('usr_a'),
        user('usr_b', { role: Role.Developer }),
        user('usr_c', { role: Role.Admin }),
      ]),
    ).toEqual([]);
  });

  it('names each approver that cannot approve, by position', () => {
    const problems = approverProblems(
      'prod',
      'usr_req',
      ['usr_req', 'usr_gone', 'usr_off', 'usr_viewer', 'usr_outside', 'usr_ok'],
      [
        user('usr_req'),
        user('usr_off', { status: 'suspended' }),
        user('usr_viewer', { role: Role.Viewer }),
        user('usr_outside', { canSeeProject: false }),
        user('usr_ok'),
      ],
    );
    expect(problems.map((p) => [p.field, p.code])).toEqual([
      ['approvals[0]', 'self_approval'],
      ['approvals[1]', 'unknown_user'],
      ['approvals[2]', 'unknown_user'],
      ['approvals[3]', 'cannot_approve'],
      ['approvals[4]', 'no_access'],
    ]);
  });
});

describe('decide', () => {
  const pending = (...ids: string[]): Approval[] => ids.map((userId) => ({ userId, status: 'pending' }));
  const base = { status: 'pending_approval' as const, requestedBy: 'usr_req', decision: 'approve' as const };
  const error = (fn: () => unknown): AppError => {
    try {
      fn();
    } catch (err) {
      return err as AppError;
    }
    throw new Error('did not throw');
  };

  it('keeps waiting until every named approver approved, then queues', () => {
    const first = decide({ ...base, approvals: pending('usr_a', 'usr_b'), actorId: 'usr_a' });
    expect(first.next).toBe('pending_approval');
    expect(first.approvals).toEqual([
      { userId: 'usr_a', status: 'approved' },
      { userId: 'usr_b', status: 'pending' },
    ]);
    const second = decide({ ...base, approvals: first.approvals, actorId: 'usr_b' });
    expect(second.next).toBe('queued');
  });

  it('rejects the deployment on one rejection', () => {
    const approvals: Approval[] = [{ userId: 'usr_a', status: 'approved' }, ...pending('usr_b')];
    expect(decide({ ...base, approvals, actorId: 'usr_b', decision: 'reject' })).toEqual({
      approvals: [
        { userId: 'usr_a', status: 'approved' },
        { userId: 'usr_b', status: 'rejected' },
      ],
      next: 'rejected',
    });
  });

  it('refuses anyone not named (403), and the requester even if named (403)', () => {
    expect(error(() => decide({ ...base, approvals: pending('usr_a'), actorId: 'usr_x' })).code).toBe(
      'FORBIDDEN',
    );
    expect(error(() => decide({ ...base, approvals: pending('usr_req'), actorId: 'usr_req' })).code).toBe(
      'FORBIDDEN',
    );
  });

  it('refuses a second decision and a deployment no longer waiting (409)', () => {
    const approvals: Approval[] = [{ userId: 'usr_a', status: 'approved' }, ...pending('usr_b')];
    expect(error(() => decide({ ...base, approvals, actorId: 'usr_a' })).code).toBe('CONFLICT');
    expect(error(() => decide({ ...base, status: 'rejected', approvals, actorId: 'usr_b' })).code).toBe(
      'CONFLICT',
    );
  });
});
