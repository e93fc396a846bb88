import { Role } from '@app/core';
import { Tier, UserStatus } from './user.entity';
import { mapAuthState } from './users.repository';

describe('mapAuthState', () => {
  const row = {
    id: 'usr_1',
    username: 'alice',
    role: Role.Developer,
    status: UserStatus.Active,
    tier: Tier.Free,
    deletedAt: null,
    tokensValidAfter: null,
  };

  it('carries the facts authentication needs', () => {
    expect(mapAuthState(row)).toEqual({
      id: 'usr_1',
      username: 'alice',
      role: Role.Developer,
      status: UserStatus.Active,
      tier: Tier.Free,
      deleted: false,
      tokensValidAfter: null,
    });
  });

  it('marks a soft-deleted user as deleted and keeps tokensValidAfter', () => {
    const at = new Date('2026-01-01T00:00:00Z');
    expect(mapAuthState({ ...row, deletedAt: at, tokensValidAfter: at })).toMatchObject({
      deleted: true,
      tokensValidAfter: at,
    });
  });
});
