import { Role, Scope } from './role';

/**
 * Every permission an endpoint can require. `:read` permissions need the `read` scope,
 * `:write` ones `write`, and `:admin` ones `admin` (see scopeFor).
 */
export enum Permission {
  UsersRead = 'users:read',
  UsersAdmin = 'users:admin',
  /** Edit one's own profile (name, department, avatar). */
  ProfileWrite = 'profile:write',
  AuditLogsAdmin = 'audit-logs:admin',
  ClientsRead = 'clients:read',
  ClientsWrite = 'clients:write',
  ClientsAdmin = 'clients:admin',
  QueuesAdmin = 'queues:admin',
  ProjectsRead = 'projects:read',
  /** Create projects; change those one is a member of. */
  ProjectsWrite = 'projects:write',
  /** See and change every project, member or not. */
  ProjectsAdmin = 'projects:admin',
  TasksRead = 'tasks:read',
  TasksWrite = 'tasks:write',
  AgentsRead = 'agents:read',
  ActivateProductAgent = 'agents.product:write',
  ActivateArchitectureAgent = 'agents.architecture:write',
  ActivateApiAgent = 'agents.api:write',
  ActivateBackendAgent = 'agents.backend:write',
  ActivateFrontendAgent = 'agents.frontend:write',
  ActivateTestAgent = 'agents.test:write',
  ActivateDevopsAgent = 'agents.devops:write',
  ActivateQaAgent = 'agents.qa:write',
  DocumentsRead = 'documents:read',
  WebhooksRead = 'webhooks:read',
  /** Manage the webhooks of projects one is a member of. */
  WebhooksWrite = 'webhooks:write',
  /** Manage platform-wide webhooks and every project's. */
  WebhooksAdmin = 'webhooks:admin',
  ApplicationsRead = 'applications:read',
  /** Define applications and their deploy targets (a script target runs a command on a worker). */
  ApplicationsWrite = 'applications:write',
  DeploymentsRead = 'deployments:read',
  /** Deploy and roll back. */
  DeploymentsWrite = 'deployments:write',
  /** Approve or reject a deployment; the service also requires being one of its named approvers. */
  DeploymentApprovalsWrite = 'deployment-approvals:write',
  PipelinesRead = 'pipelines:read',
  /** Define, change and delete the pipelines of projects one is a member of (they run commands). */
  PipelinesWrite = 'pipelines:write',
  BuildsRead = 'builds:read',
  /** Trigger and cancel builds of the pipelines of projects one is a member of. */
  BuildsWrite = 'builds:write',
  TestsRead = 'tests:read',
  /** Define and run the test suites of projects one is a member of (they run commands). */
  TestsWrite = 'tests:write',
  ChangesRead = 'changes:read',
  /** Merge and close the changes of projects one is a member of. */
  ChangesWrite = 'changes:write',
}

export const PERMISSIONS: readonly Permission[] = Object.values(Permission);

const readOnly = PERMISSIONS.filter((p) => p.endsWith(':read'));
/** What every role but viewer may do for itself. */
const SELF_SERVICE = [
  Permission.ClientsWrite,
  Permission.ProfileWrite,
  Permission.WebhooksWrite,
  Permission.DeploymentApprovalsWrite,
];

/**
 * The one permission matrix: role -> what it may do. Admin has everything; viewer every `:read`
 * and nothing else; the other roles get what their job in the seed's table needs.
 */
export const ROLE_PERMISSIONS: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  [Role.Admin]: new Set(PERMISSIONS),
  [Role.Viewer]: new Set(readOnly),
  [Role.ProductManager]: new Set([
    ...readOnly,
    ...SELF_SERVICE,
    Permission.ProjectsWrite,
    Permission.TasksWrite,
    Permission.ActivateProductAgent,
  ]),
  [Role.Architect]: new Set([
    ...readOnly,
    ...SELF_SERVICE,
    Permission.TasksWrite,
    Permission.ActivateArchitectureAgent,
    Permission.ActivateApiAgent,
    Permission.ChangesWrite,
  ]),
  [Role.Developer]: new Set([
    ...readOnly,
    ...SELF_SERVICE,
    Permission.TasksWrite,
    Permission.BuildsWrite,
    Permission.TestsWrite,
    Permission.ActivateBackendAgent,
    Permission.ActivateFrontendAgent,
    Permission.ChangesWrite,
  ]),
  [Role.Tester]: new Set([
    ...readOnly,
    ...SELF_SERVICE,
    Permission.TasksWrite,
    Permission.TestsWrite,
    Permission.ActivateTestAgent,
    Permission.ActivateQaAgent,
  ]),
  [Role.Devops]: new Set([
    ...readOnly,
    ...SELF_SERVICE,
    Permission.ApplicationsWrite,
    Permission.DeploymentsWrite,
    Permission.PipelinesWrite,
    Permission.BuildsWrite,
    Permission.ActivateDevopsAgent,
  ]),
};

export function scopeFor(permission: Permission): Scope {
  if (permission.endsWith(':read')) return Scope.Read;
  if (permission.endsWith(':admin')) return Scope.Admin;
  return Scope.Write;
}

export function roleAllows(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role]?.has(permission) ?? false;
}
