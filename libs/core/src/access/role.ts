/** The seed's seven roles. */
export enum Role {
  Admin = 'admin',
  ProductManager = 'product_manager',
  Architect = 'architect',
  Developer = 'developer',
  Tester = 'tester',
  Devops = 'devops',
  Viewer = 'viewer',
}

export const ROLES: readonly Role[] = Object.values(Role);

/** OAuth scopes a token can carry (CONTRACT.md). */
export enum Scope {
  Read = 'read',
  Write = 'write',
  Admin = 'admin',
}

/** The widest scope set each role may hold: viewer reads, admin has all, the rest read and write. */
export function maxScopesFor(role: Role): Scope[] {
  if (role === Role.Admin) return [Scope.Read, Scope.Write, Scope.Admin];
  if (role === Role.Viewer) return [Scope.Read];
  return [Scope.Read, Scope.Write];
}
