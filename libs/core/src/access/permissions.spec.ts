import { Permission, PERMISSIONS, ROLE_PERMISSIONS, roleAllows, scopeFor } from './permissions';
import { maxScopesFor, Role, ROLES, Scope } from './role';

// Written out as the specification, not derived from the code under test.
const READ_PERMISSIONS = [
  'users:read',
  'clients:read',
  'projects:read',
  'tasks:read',
  'agents:read',
  'documents:read',
  'webhooks:read',
  'applications:read',
  'deployments:read',
  'pipelines:read',
  'builds:read',
  'tests:read',
  'changes:read',
] as Permission[];
const EVERY_PERMISSION = [
  ...READ_PERMISSIONS,
  'users:admin',
  'profile:write',
  'audit-logs:admin',
  'clients:write',
  'clients:admin',
  'queues:admin',
  'projects:write',
  'projects:admin',
  'tasks:write',
  'webhooks:write',
  'webhooks:admin',
  'applications:write',
  'deployments:write',
  'deployment-approvals:write',
  'pipelines:write',
  'builds:write',
  'tests:write',
  'changes:write',
  ...['product', 'architecture', 'frontend', 'backend', 'api', 'test', 'qa', 'devops'].map(
    (agent) => `agents.${agent}:write`,
  ),
] as Permission[];
const NON_ADMIN_NON_VIEWER = ROLES.filter((r) => r !== Role.Admin && r !== Role.Viewer);

describe('the permission matrix', () => {
  it('lists every permission once in PERMISSIONS', () => {
    expect(new Set(PERMISSIONS).size).toBe(PERMISSIONS.length);
    expect([...PERMISSIONS].sort()).toEqual([...EVERY_PERMISSION].sort());
  });

  it('has an entry for every role', () => {
    expect(Object.keys(ROLE_PERMISSIONS).sort()).toEqual([...ROLES].sort());
  });

  it('gives admin every permission', () => {
    for (const permission of Object.values(Permission)) expect(roleAllows(Role.Admin, permission)).toBe(true);
    expect([...ROLE_PERMISSIONS[Role.Admin]].sort()).toEqual([...EVERY_PERMISSION].sort());
  });

  it('gives viewer exactly the :read permissions', () => {
    expect([...ROLE_PERMISSIONS[Role.Viewer]].sort()).toEqual([...READ_PERMISSIONS].sort());
    for (const permission of PERMISSIONS.filter((p) => !p.endsWith(':read')))
      expect(roleAllows(Role.Viewer, permission)).toBe(false);
  });

  it.each(NON_ADMIN_NON_VIEWER)('gives %s every :read permission and no :admin one', (role) => {
    for (const permission of READ_PERMISSIONS) expect(roleAllows(role, permission)).toBe(true);
    for (const permission of PERMISSIONS.filter((p) => p.endsWith(':admin')))
      expect(roleAllows(role, permission)).toBe(false);
  });

  it.each(NON_ADMIN_NON_VIEWER)('lets %s manage its own API clients and profile', (role) => {
    expect(roleAllows(role, Permission.ClientsWrite)).toBe(true);
    expect(roleAllows(role, Permission.ProfileWrite)).toBe(true);
  });

  it('allows nothing to a role it does not know', () => {
    expect(roleAllows('superuser' as Role, Permission.UsersRead)).toBe(false);
  });
});

describe('scopeFor', () => {
  it.each([
    [Permission.UsersRead, Scope.Read],
    [Permission.ClientsRead, Scope.Read],
    [Permission.ClientsWrite, Scope.Write],
    [Permission.ProfileWrite, Scope.Write],
    [Permission.UsersAdmin, Scope.Admin],
    [Permission.AuditLogsAdmin, Scope.Admin],
    [Permission.ClientsAdmin, Scope.Admin],
    [Permission.QueuesAdmin, Scope.Admin],
  ])('%s needs the %s scope', (permission, scope) => {
    expect(scopeFor(permission)).toBe(scope);
  });

  it('maps every permission by its suffix', () => {
    for (const permission of PERMISSIONS) expect(permission.endsWith(`:${scopeFor(permission)}`)).toBe(true);
  });
});

describe('maxScopesFor', () => {
  it('gives admin read, write and admin', () => {
    expect(maxScopesFor(Role.Admin)).toEqual([Scope.Read, Scope.Write, Scope.Admin]);
  });

  it('gives viewer read only', () => {
    expect(maxScopesFor(Role.Viewer)).toEqual([Scope.Read]);
  });

  it.each(NON_ADMIN_NON_VIEWER)('gives %s read and write', (role) => {
    expect(maxScopesFor(role)).toEqual([Scope.Read, Scope.Write]);
  });

  it.each(ROLES)('lets a %s token with its widest scopes use everything the role allows', (role) => {
    for (const permission of ROLE_PERMISSIONS[role])
      expect(maxScopesFor(role)).toContain(scopeFor(permission));
  });
});

describe('pipelines, builds and test suites (they run commands)', () => {
  const holders = (permission: Permission) => ROLES.filter((r) => roleAllows(r, permission)).sort();

  it('lets only devops and admin define or change pipelines', () => {
    expect(holders(Permission.PipelinesWrite)).toEqual([Role.Admin, Role.Devops].sort());
  });

  it('lets developers, devops and admin trigger and cancel builds', () => {
    expect(holders(Permission.BuildsWrite)).toEqual([Role.Admin, Role.Developer, Role.Devops].sort());
  });

  it('lets developers, testers and admin define and run test suites (the seed’s 测试 read/write roles)', () => {
    expect(holders(Permission.TestsWrite)).toEqual([Role.Admin, Role.Developer, Role.Tester].sort());
  });

  it('lets developers, architects and admin merge and close changes', () => {
    expect(holders(Permission.ChangesWrite)).toEqual([Role.Admin, Role.Architect, Role.Developer].sort());
  });

  it('lets every role read them', () => {
    for (const p of [
      Permission.PipelinesRead,
      Permission.BuildsRead,
      Permission.TestsRead,
      Permission.ChangesRead,
    ])
      expect(holders(p)).toEqual([...ROLES].sort());
  });
});
