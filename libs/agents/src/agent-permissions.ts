import { Permission } from '@app/core';
import { AgentType } from './agent-types';

/** The permission that activates each agent (the matrix in libs/core decides which roles hold it). */
export const ACTIVATION_PERMISSION: Record<AgentType, Permission> = {
  product: Permission.ActivateProductAgent,
  architecture: Permission.ActivateArchitectureAgent,
  api: Permission.ActivateApiAgent,
  backend: Permission.ActivateBackendAgent,
  frontend: Permission.ActivateFrontendAgent,
  test: Permission.ActivateTestAgent,
  devops: Permission.ActivateDevopsAgent,
  qa: Permission.ActivateQaAgent,
};
