import { AppError, FieldError, Permission, Role, roleAllows } from '@app/core';
import { DeploymentStatus, Environment } from './deployment-plan';

export type ApprovalStatus = 'pending' | 'approved' | 'rejected';

export interface Approval {
  userId: string;
  status: ApprovalStatus;
}

/** What is known of a user named as an approver. */
export interface ApproverCandidate {
  id: string;
  role: Role;
  status: string;
  /** Whether they can see the deployment's project (member, internal/public project, or administrator). */
  canSeeProject: boolean;
}

/**
 * The approvers of a new deployment: `prod` must name at least one; each must be an active user
 * who may approve and can see the project, and none may be the requester (four eyes).
 */
export function approverProblems(
  environment: Environment,
  requesterId: string,
  approverIds: string[],
  found: ApproverCandidate[],
): FieldError[] {
  if (environment === 'prod' && !approverIds.length) {
    return [
      {
        field: 'approvals',
        message: 'a prod deployment needs approvals: the ids of the users who must approve it',
        code: 'required',
      },
    ];
  }
  const byId = new Map(found.map((u) => [u.id, u]));
  const problems: FieldError[] = [];
  approverIds.forEach((id, i) => {
    const field = `approvals[${i}]`;
    const user = byId.get(id);
    if (id === requesterId)
      problems.push({
        field,
        message: 'the requester cannot approve their own deployment',
        code: 'self_approval',
      });
    else if (!user || user.status !== 'active')
      problems.push({ field, message: `${id} is not an active user`, code: 'unknown_user' });
    else if (!roleAllows(user.role, Permission.DeploymentApprovalsWrite))
      problems.push({
        field,
        message: `${id} has a read-only role and cannot approve`,
        code: 'cannot_approve',
      });
    else if (!user.canSeeProject)
      problems.push({ field, message: `${id} cannot see this project`, code: 'no_access' });
  });
  return problems;
}

/**
 * One approver's decision. Only a named approver decides, once, while the deployment waits; the
 * requester never approves. Every approval -> queued; one rejection -> rejected.
 */
export function decide(input: {
  status: DeploymentStatus;
  requestedBy: string | null;
  approvals: Approval[];
  actorId: string;
  decision: 'approve' | 'reject';
}): { approvals: Approval[]; next: 'pending_approval' | 'queued' | 'rejected' } {
  if (input.actorId === input.requestedBy)
    throw AppError.forbidden('The requester cannot approve or reject their own deployment');
  const mine = input.approvals.find((a) => a.userId === input.actorId);
  if (!mine) throw AppError.forbidden('Only the approvers named on this deployment may approve or reject it');
  if (input.status !== 'pending_approval')
    throw AppError.conflict(`This deployment is ${input.status}; it no longer waits for approval`, {
      status: input.status,
    });
  if (mine.status !== 'pending')
    throw AppError.conflict(`You already ${mine.status} this deployment`, { decision: mine.status });
  const decided: ApprovalStatus = input.decision === 'approve' ? 'approved' : 'rejected';
  const approvals = input.approvals.map((a) => (a === mine ? { ...a, status: decided } : a));
  const next =
    decided === 'rejected'
      ? 'rejected'
      : approvals.every((a) => a.status === 'approved')
        ? 'queued'
        : 'pending_approval';
  return { approvals, next };
}
