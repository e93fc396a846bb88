import { Injectable } from '@nestjs/common';
import { AppConfig, FieldError, iso } from '@app/core';
import { assertSafeUrl, newWebhookSecret, postWebhook, signWebhook, UnsafeTargetError } from '@app/webhooks';
import { isURL } from 'class-validator';
import { DeployStepRequest, DeployTarget, ParsedTarget, StepOutcome, StoredTarget } from './deploy-target';
import { unknownFields } from './deploy-targets';

export const DEPLOY_USER_AGENT = 'OpenClaw-CoCode-Deployments/2.0';
/** The rule webhook subscriptions use. */
const URL_RULE = {
  protocols: ['http', 'https'],
  require_protocol: true,
  require_tld: false,
  allow_underscores: true,
};

/**
 * `{type: "webhook", url, secret?}`: every step is a POST of `{id, type: "deployment.step",
 * createdAt, data}` signed like webhook deliveries (Standard Webhooks and X-Hub-Signature-256,
 * with the secret shown once at creation) with X-Deploy-Step, X-Deploy-Action and
 * X-Deploy-Step-Attempt headers; a 2xx answer is success. Redirects are not followed;
 * private addresses are refused unless WEBHOOKS_ALLOW_PRIVATE=true, at creation and at connect.
 */
@Injectable()
export class WebhookTarget implements DeployTarget {
  readonly type = 'webhook';

  constructor(private readonly config: AppConfig) {}

  async parse(raw: Record<string, unknown>): Promise<ParsedTarget | FieldError[]> {
    const problems = unknownFields(raw, ['url', 'secret']);
    const { url, secret } = raw;
    if (typeof url !== 'string' || url.length > 2048 || !isURL(url, URL_RULE)) {
      problems.push({
        field: 'url',
        message: 'target.url must be an absolute http(s) URL',
        code: 'invalid_format',
      });
    } else if (!this.config.webhooks.allowPrivate) {
      try {
        await assertSafeUrl(url);
      } catch (err) {
        if (!(err instanceof UnsafeTargetError)) throw err;
        problems.push({ field: 'url', message: err.message, code: 'unsafe_target' });
      }
    }
    if (secret !== undefined && (typeof secret !== 'string' || secret.length < 16 || secret.length > 200))
      problems.push({
        field: 'secret',
        message: 'target.secret must be 16-200 characters',
        code: 'invalid_format',
      });
    if (problems.length) return problems;
    return { config: { url }, secret: (secret as string | undefined) ?? newWebhookSecret() };
  }

  async execute(target: StoredTarget, request: DeployStepRequest): Promise<StepOutcome> {
    const id = `${request.deploymentId}.${request.step.name}.${request.attempt}`;
    const body = JSON.stringify({
      id,
      type: 'deployment.step',
      createdAt: iso(new Date()),
      data: {
        deploymentId: request.deploymentId,
        application: request.application,
        environment: request.environment,
        strategy: request.strategy,
        step: request.step,
        previousVersion: request.previousVersion,
        attempt: request.attempt,
      },
    });
    const headers = {
      'content-type': 'application/json',
      'user-agent': DEPLOY_USER_AGENT,
      'x-deploy-step': request.step.name,
      'x-deploy-action': request.step.action,
      // A step can run again (health-check retries, a re-run after a lost worker): receivers
      // must be idempotent per step and can tell the runs apart by this (and the id's suffix).
      'x-deploy-step-attempt': String(request.attempt),
      ...signWebhook(target.secret ?? '', id, Math.floor(Date.now() / 1000), body),
    };
    try {
      const res = await postWebhook(String(target.config.url), headers, body, {
        timeoutMs: this.config.deployments.webhookTimeoutMs,
        allowPrivate: this.config.webhooks.allowPrivate,
      });
      const ok = res.status >= 200 && res.status < 300;
      return {
        ok,
        output: `HTTP ${res.status} ${res.excerpt}`.trim(),
        error: ok ? null : `HTTP ${res.status}`,
      };
    } catch (err) {
      return { ok: false, output: '', error: (err as Error).message.slice(0, 1000) };
    }
  }
}
