import { Permission } from './permissions';
import { Principal } from './principal';
import { Role, Scope } from './role';

function principal(role: Role, scopes: Scope[]): Principal {
  return new Principal(
    'usr_0123456789abcdef',
    'alice',
    role,
    scopes,
    'standard',
    'tok-1',
    new Date('2030-01-01T00:00:00Z'),
    null,
  );
}

const ALL_SCOPES = [Scope.Read, Scope.Write, Scope.Admin];

describe('Principal.can', () => {
  it('lets an admin with every scope do everything', () => {
    const admin = principal(Role.Admin, ALL_SCOPES);
    for (const permission of Object.values(Permission)) expect(admin.can(permission)).toBe(true);
  });

  it('refuses users:admin to an admin whose token has only the read scope', () => {
    const admin = principal(Role.Admin, [Scope.Read]);
    expect(admin.can(Permission.UsersAdmin)).toBe(false);
    expect(admin.can(Permission.ClientsWrite)).toBe(false);
    expect(admin.can(Permission.UsersRead)).toBe(true);
  });

  it('refuses what the role lacks even when the token carries the scope', () => {
    const viewer = principal(Role.Viewer, ALL_SCOPES);
    expect(viewer.can(Permission.ClientsWrite)).toBe(false);
    expect(viewer.can(Permission.UsersAdmin)).toBe(false);
    expect(viewer.can(Permission.ClientsRead)).toBe(true);

    const developer = principal(Role.Developer, ALL_SCOPES);
    expect(developer.can(Permission.QueuesAdmin)).toBe(false);
  });

  it('needs the write scope for a :write permission the role has', () => {
    expect(principal(Role.Developer, [Scope.Read, Scope.Write]).can(Permission.ClientsWrite)).toBe(true);
    expect(principal(Role.Developer, [Scope.Read]).can(Permission.ClientsWrite)).toBe(false);
  });

  it('allows nothing to a token without scopes', () => {
    const admin = principal(Role.Admin, []);
    for (const permission of Object.values(Permission)) expect(admin.can(permission)).toBe(false);
  });
});

describe('Principal.isAdmin', () => {
  it('is true for the admin role holding the admin scope', () => {
    expect(principal(Role.Admin, ALL_SCOPES).isAdmin).toBe(true);
  });

  it('is false for the admin role without the admin scope', () => {
    expect(principal(Role.Admin, [Scope.Read, Scope.Write]).isAdmin).toBe(false);
  });

  it('is false for any other role, whatever its scopes', () => {
    expect(principal(Role.Devops, ALL_SCOPES).isAdmin).toBe(false);
  });
});
