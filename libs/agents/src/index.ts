export * from './agent-events.service';
export * from './agent-runner.service';
export * from './agent-types';
export * from './agent.dto';
export * from './agents.module';
export * from './agents.service';
export * from './agent-permissions';
export * from './acting-principal';
