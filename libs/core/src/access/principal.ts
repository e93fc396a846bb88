import { Permission, roleAllows, scopeFor } from './permissions';
import { Role, Scope } from './role';

/** Who is calling: a user, directly or through one of the API clients they own. */
export class Principal {
  constructor(
    readonly userId: string,
    readonly username: string,
    readonly role: Role,
    readonly scopes: readonly Scope[],
    readonly tier: string,
    readonly tokenId: string,
    readonly expiresAt: Date,
    readonly clientId: string | null,
  ) {}

  /** Both the role and the token's scopes must allow it. */
  can(permission: Permission): boolean {
    return roleAllows(this.role, permission) && this.scopes.includes(scopeFor(permission));
  }

  get isAdmin(): boolean {
    return this.can(Permission.UsersAdmin);
  }
}
