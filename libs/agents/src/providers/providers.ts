import { Injectable } from '@nestjs/common';
import { AppConfig, AppError, MODEL_KEY_VARIABLE } from '@app/core';
import { AgentType, ProviderName } from '../agent-types';
import { isCodeAgent } from '../code/code-prompt';
import { AnthropicProvider } from './anthropic.provider';
import { LlmProvider } from './llm-provider';
import { TemplateProvider } from './template.provider';

export interface ProviderChoice {
  provider: ProviderName;
  workflow: 'document' | 'code';
}

/**
 * Chooses the provider and workflow of an activation. Asked for (config.provider, or
 * config.model "template") or by default: the code agents work on the project's repository when
 * it has one (claude-code with a key, the offline template without); the others, and code agents
 * of a project without a repository, write documents (anthropic with a key, else template).
 */
@Injectable()
export class Providers {
  readonly template = new TemplateProvider();
  private anthropicProvider: AnthropicProvider | null = null;

  constructor(private readonly config: AppConfig) {}

  choose(
    type: AgentType,
    requested: { provider?: ProviderName; model?: string } | undefined,
    hasRepository: boolean,
  ): ProviderChoice {
    const code = isCodeAgent(type);
    const online = this.config.agents.provider === 'anthropic';
    const asked = requested?.provider ?? (requested?.model === 'template' ? 'template' : undefined);
    if (asked === 'claude-code') {
      if (!code)
        throw AppError.validation([
          {
            field: 'config.provider',
            message: 'claude-code is for the backend, frontend, test and devops agents',
            code: 'invalid',
          },
        ]);
      if (!hasRepository)
        throw AppError.conflict(
          'The project has no repository for Claude Code to work on: set it with PUT /v2/projects/{projectId} (repository)',
          { field: 'repository' },
        );
      if (!online)
        throw AppError.conflict(
          `claude-code needs the platform to have a model key (${MODEL_KEY_VARIABLE})`,
          {
            provider: 'claude-code',
          },
        );
      return { provider: 'claude-code', workflow: 'code' };
    }
    if (asked === 'anthropic') {
      if (!online)
        throw AppError.conflict(`anthropic needs the platform to have a model key (${MODEL_KEY_VARIABLE})`, {
          provider: 'anthropic',
        });
      return { provider: 'anthropic', workflow: 'document' };
    }
    const workflow = code && hasRepository ? 'code' : 'document';
    if (asked === 'template' || !online) return { provider: 'template', workflow };
    return { provider: workflow === 'code' ? 'claude-code' : 'anthropic', workflow };
  }

  /** The provider of a document activation's steps. */
  get(name: ProviderName): LlmProvider {
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
