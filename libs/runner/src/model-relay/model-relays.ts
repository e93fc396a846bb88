import { Injectable } from '@nestjs/common';
import { AppConfig } from '@app/core';
import { ModelRelay } from './model-relay';

export const ANTHROPIC_DEFAULT_BASE_URL = 'https://api.anthropic.com';

/** Starts the worker's model relays: one per sandboxed session that talks to the model. */
@Injectable()
export class ModelRelays {
  private readonly isRoot = process.getuid?.() === 0;

  constructor(private readonly config: AppConfig) {}

  /** Whether the worker has a key to relay with (ANTHROPIC_API_KEY). */
  get available(): boolean {
    return Boolean(this.config.agents.anthropicApiKey);
  }

  /** A relay for one session, to Sandbox.run's `modelRelay`; the caller stops it with the session. */
  start(sessionId: string): Promise<ModelRelay> {
    const apiKey = this.config.agents.anthropicApiKey;
    if (!apiKey) return Promise.reject(new Error('the model relay needs ANTHROPIC_API_KEY on the worker'));
    const { executor, uid, gid } = this.config.sandbox;
    return ModelRelay.start({
      upstream: this.config.agents.anthropicBaseUrl ?? ANTHROPIC_DEFAULT_BASE_URL,
      apiKey,
      sessionId,
      // A root worker starts bubblewrap as the sandbox's uid: that uid connects.
      owner: executor === 'bwrap' && this.isRoot ? { uid, gid } : undefined,
    });
  }
}
