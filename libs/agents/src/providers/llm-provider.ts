import { StepContext } from '../agent-input';
import { AgentDefinition, StepDefinition } from '../definitions';
import { TokenUsage } from '../usage/model-prices';

export interface StepRequest {
  agent: AgentDefinition;
  step: StepDefinition;
  ctx: StepContext;
  /** The model asked for (an alias such as claude-sonnet-4, or an id). */
  model: string | null;
  temperature: number | null;
}

export interface StepResult {
  output: Record<string, unknown>;
  tokensUsed: number;
  /** The same tokens by kind, as the API billed them. */
  usage: TokenUsage;
  /** The model id that really answered ("template" for the offline provider). */
  model: string;
}

/** A failure the activation reports as its error (readable, no internals). */
export class ProviderError extends Error {
  constructor(
    message: string,
    readonly retryable = false,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}

/** One step of one agent through a language model (or the offline templates). */
export interface LlmProvider {
  readonly name: 'anthropic' | 'template';
  runStep(request: StepRequest, signal?: AbortSignal): Promise<StepResult>;
}
