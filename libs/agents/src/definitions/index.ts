import { AgentType } from '../agent-types';
import { AgentDefinition } from './agent-definition';
import { api } from './api';
import { architecture } from './architecture';
import { backend } from './backend';
import { devops } from './devops';
import { frontend } from './frontend';
import { product } from './product';
import { qa } from './qa';
import { test } from './test';

export * from './agent-definition';

/** The agents' catalogue: one definition per agent type, each in its own file. */
export const AGENTS: Record<AgentType, AgentDefinition> = {
  product,
  architecture,
  api,
  backend,
  frontend,
  test,
  devops,
  qa,
};
