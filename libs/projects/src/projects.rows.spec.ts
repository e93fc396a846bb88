import { accessOf, mapProjectAccess, ProjectWithMemberRow } from './project-access.repository';
import { ProjectStatus, ProjectVisibility } from './project.entity';
import { mapMemberRow } from './projects.repository';

describe('project row mappers', () => {
  it('mapMemberRow: a member with their names, addedAt in ISO 8601 to the second', () => {
    expect(
      mapMemberRow({
        user_id: 'usr_1',
        role: 'owner',
        added_at: new Date('2026-01-02T03:04:05.678Z'),
        username: 'alice',
        full_name: 'Alice A.',
      }),
    ).toEqual({
      userId: 'usr_1',
      role: 'owner',
      username: 'alice',
      fullName: 'Alice A.',
      addedAt: '2026-01-02T03:04:05Z',
    });
  });

  it('mapProjectAccess: the project without memberRole, and the membership (null when none)', () => {
    const row = {
      id: 'prj_1',
      key: 'ECOM',
      visibility: ProjectVisibility.Private,
      status: ProjectStatus.Active,
      memberRole: null,
    } as unknown as ProjectWithMemberRow;
    const access = mapProjectAccess(row);
    expect(access.memberRole).toBeNull();
    expect(access.project).toEqual({
      id: 'prj_1',
      key: 'ECOM',
      visibility: ProjectVisibility.Private,
      status: ProjectStatus.Active,
    });
    expect(mapProjectAccess({ ...row, memberRole: 'member' }).memberRole).toBe('member');
  });

  it('accessOf: the project part of a row joined with projectAccessJoin', () => {
    expect(
      accessOf('prj_1', {
        p_key: 'ECOM',
        p_visibility: ProjectVisibility.Internal,
        p_status: ProjectStatus.Archived,
        p_owner_id: 'usr_9',
        member_role: null,
      }),
    ).toEqual({
      project: {
        id: 'prj_1',
        key: 'ECOM',
        visibility: ProjectVisibility.Internal,
        status: ProjectStatus.Archived,
        ownerId: 'usr_9',
      },
      memberRole: null,
    });
  });
});
