import { Injectable } from '@nestjs/common';
import { AppConfig } from '@app/core';
import { AnthropicProvider } from './anthropic.provider';
import { LlmProvider } from './llm-provider';
import { TemplateProvider } from './template.provider';

/** Chooses the provider of an activation: `template` when asked for (config.model) or configured, else Claude. */
@Injectable()
export class Providers {
  readonly template = new TemplateProvider();
  private anthropicProvider: AnthropicProvider | null = null;

  constructor(private readonly config: AppConfig) {}

  nameFor(requestedModel: string | null | undefined): 'anthropic' | 'template' {
    if (requestedModel === 'template') return 'template';
    return this.config.agents.provider;
  }

  get(name: 'anthropic' | 'template'): LlmProvider {
    if (name === 'template') return this.template;
    const a = this.config.agents;
    this.anthropicProvider ??= new AnthropicProvider({
      apiKey: a.anthropicApiKey ?? '',
      baseURL: a.anthropicBaseUrl,
      defaultModel: a.defaultModel,
      aliases: a.modelAliases,
      maxTokens: a.maxTokens,
      timeoutMs: a.timeoutMs,
      maxRetries: a.maxRetries,
    });
    return this.anthropicProvider;
  }
}
