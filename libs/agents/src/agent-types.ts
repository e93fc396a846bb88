import { Role } from '@app/core';

export const AGENT_TYPES = [
  'product',
  'architecture',
  'api',
  'backend',
  'frontend',
  'test',
  'devops',
  'qa',
] as const;
export type AgentType = (typeof AGENT_TYPES)[number];

/** Who may activate each agent (CONTRACT.md); administrators may activate all. */
export const AGENT_ACTIVATORS: Record<AgentType, Role> = {
  product: Role.ProductManager,
  architecture: Role.Architect,
  api: Role.Architect,
  backend: Role.Developer,
  frontend: Role.Developer,
  test: Role.Tester,
  qa: Role.Tester,
  devops: Role.Devops,
};

export const ACTIVATION_STATUSES = [
  'queued',
  'processing',
  'completed',
  'failed',
  'cancelled',
  'budget_exceeded',
  'timed_out',
] as const;
export type ActivationStatus = (typeof ACTIVATION_STATUSES)[number];
export const TERMINAL_STATUSES: readonly ActivationStatus[] = [
  'completed',
  'failed',
  'cancelled',
  'budget_exceeded',
  'timed_out',
];
/** How an activation ended when it did not complete. */
export type EndStatus = 'failed' | 'cancelled' | 'budget_exceeded' | 'timed_out';

export const PROVIDER_NAMES = ['claude-code', 'anthropic', 'template'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];
