import { NO_USAGE } from '../usage/model-prices';
import { LlmProvider, StepRequest, StepResult } from './llm-provider';

/**
 * Offline and deterministic: every step's answer is built from the input by the step's template,
 * in the same shape a model is asked for. metrics.model says "template" so nobody mistakes it for AI.
 */
export class TemplateProvider implements LlmProvider {
  readonly name = 'template' as const;

  async runStep({ step, ctx }: StepRequest): Promise<StepResult> {
    return { output: step.template(ctx), tokensUsed: 0, usage: { ...NO_USAGE }, model: 'template' };
  }
}
