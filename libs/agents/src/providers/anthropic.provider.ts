import Anthropic, { APIConnectionTimeoutError, APIError } from '@anthropic-ai/sdk';
import { LlmProvider, ProviderError, StepRequest, StepResult } from './llm-provider';
import { parseJsonAnswer, stepPrompt } from './prompt';

export interface AnthropicOptions {
  apiKey: string;
  baseURL?: string;
  defaultModel: string;
  aliases: Record<string, string>;
  maxTokens: number;
  timeoutMs: number;
  maxRetries: number;
}

/**
 * Claude through the official SDK (Messages API). The SDK retries 429, 529 and 5xx with
 * exponential backoff (honouring retry-after) up to maxRetries; we map what still fails to a
 * readable error. Model aliases (claude-sonnet-4) resolve through a configurable table, and
 * the result reports the model id the API says answered.
 */
export class AnthropicProvider implements LlmProvider {
  readonly name = 'anthropic' as const;
  private readonly client: Anthropic;

  constructor(private readonly options: AnthropicOptions) {
    this.client = new Anthropic({
      apiKey: options.apiKey,
      baseURL: options.baseURL,
      maxRetries: options.maxRetries,
      timeout: options.timeoutMs,
    });
  }

  resolveModel(requested: string | null): string {
    const name = requested ?? this.options.defaultModel;
    return this.options.aliases[name] ?? name;
  }

  async runStep(request: StepRequest, signal?: AbortSignal): Promise<StepResult> {
    const { system, user } = stepPrompt(request);
    const model = this.resolveModel(request.model);
    let message: Anthropic.Message;
    try {
      message = await this.client.messages.create(
        {
          model,
          max_tokens: this.options.maxTokens,
          ...(request.temperature !== null ? { temperature: request.temperature } : {}),
          system,
          messages: [{ role: 'user', content: user }],
        },
        { signal },
      );
    } catch (err) {
      throw this.describe(err);
    }
    const text = message.content
      .filter((b): b is Anthropic.TextBlock => b.type === 'text')
      .map((b) => b.text)
      .join('');
    const output = parseJsonAnswer(text);
    if (!output)
      throw new ProviderError(
        `The model's answer to step "${request.step.name}" was not the JSON object asked for`,
      );
    return {
      output,
      tokensUsed: (message.usage?.input_tokens ?? 0) + (message.usage?.output_tokens ?? 0),
      usage: {
        inputTokens: message.usage?.input_tokens ?? 0,
        outputTokens: message.usage?.output_tokens ?? 0,
        cacheReadTokens: message.usage?.cache_read_input_tokens ?? 0,
      },
      model: message.model ?? model,
    };
  }

  private describe(err: unknown): ProviderError {
    if (err instanceof APIConnectionTimeoutError)
      return new ProviderError(`The model did not answer within ${this.options.timeoutMs} ms`, true);
    if (err instanceof APIError) {
      const status = err.status;
      const what =
        status === 429
          ? 'rate limit reached'
          : status === 529
            ? 'the API is overloaded'
            : status === 401
              ? 'the API key was refused'
              : status === 404
                ? 'unknown model'
                : status === 400
                  ? 'the request was refused'
                  : 'the API failed';
      const detail =
        (err.error as { error?: { message?: string } } | undefined)?.error?.message ?? err.message;
      return new ProviderError(
        `Anthropic API error ${status ?? ''} (${what}) after ${this.options.maxRetries} retries: ${detail}`.replace(
          /\s+/g,
          ' ',
        ),
        status === 429 || status === 529,
      );
    }
    return new ProviderError(`Anthropic API unreachable: ${(err as Error).message}`, true);
  }
}
