import { AgentType } from '../agent-types';
import { StepContext } from '../agent-input';

export interface StepDefinition {
  key: string;
  /** The name shown in progress (the seed's names for the product agent). */
  name: string;
  /** What the model is asked to do in this step. */
  instruction: string;
  /** The JSON the step must answer with, as shown to the model. */
  shape: string;
  /** The offline template provider's answer: the same shape, built from the input. */
  template: (ctx: StepContext) => Record<string, unknown>;
}

export interface AgentFile {
  name: string;
  contentType: string;
  content: string;
}

export interface AgentOutcome {
  /** The result's `output` (the seed's fields for the product agent). */
  output: Record<string, unknown>;
  /** The document kept for the project (a PRD for the product agent). */
  document: { kind: string; title: string; content: string };
  /** Files served as the output's attachments. */
  files: AgentFile[];
}

export interface AgentDefinition {
  type: AgentType;
  title: string;
  description: string;
  steps: StepDefinition[];
  assemble: (ctx: StepContext) => AgentOutcome;
}

/** A catalogued agent: its definition and the kinds of the project's documents it reads. */
export interface CataloguedAgent extends AgentDefinition {
  /** Document kinds (prd, architecture, api-spec, test-plan...), newest of each, the task's own first. */
  consumes: readonly string[];
}
