import { AgentType } from '../agent-types';
import { CataloguedAgent } from './agent-definition';
import { api } from './api';
import { architecture } from './architecture';
import { backend } from './backend';
import { devops } from './devops';
import { frontend } from './frontend';
import { product } from './product';
import { qa } from './qa';
import { test } from './test';

export * from './agent-definition';

/**
 * The agents' catalogue: one definition per agent type, each in its own file, and what each reads
 * of the line before it (the architecture agent reads the PRD; the code agents read all three).
 */
export const AGENTS: Record<AgentType, CataloguedAgent> = {
  product: { ...product, consumes: [] },
  architecture: { ...architecture, consumes: ['prd'] },
  api: { ...api, consumes: ['prd', 'architecture'] },
  backend: { ...backend, consumes: ['prd', 'architecture', 'api-spec'] },
  frontend: { ...frontend, consumes: ['prd', 'architecture', 'api-spec'] },
  test: { ...test, consumes: ['prd', 'api-spec'] },
  devops: { ...devops, consumes: ['architecture'] },
  qa: { ...qa, consumes: ['test-plan'] },
};
