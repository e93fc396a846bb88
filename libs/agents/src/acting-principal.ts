import { maxScopesFor, Principal, Role } from '@app/core';
import { UserAuthState, UserStatus } from '@app/users';

/**
 * The principal the platform acts as for a user (an activation's requester, a flow's creator):
 * their role now, all its scopes; null when the user is gone or not active. `tokenId` says for
 * what (`activation:act_...`, `flow:flow_...`).
 */
export function actingFor(user: UserAuthState | null, tokenId: string): Principal | null {
  if (!user || user.deleted || user.status !== UserStatus.Active) return null;
  return new Principal(
    user.id,
    user.username,
    user.role,
    maxScopesFor(user.role),
    user.tier,
    tokenId,
    new Date(Date.now() + 24 * 3600_000),
    null,
  );
}

/**
 * The same user with every permission: for the work their request already covers and their role
 * alone would not (a tester's test agent builds its branch; an approved flow merges its change).
 */
export function onBehalfOf(p: Principal): Principal {
  return new Principal(
    p.userId,
    p.username,
    Role.Admin,
    maxScopesFor(Role.Admin),
    p.tier,
    p.tokenId,
    p.expiresAt,
    null,
  );
}
