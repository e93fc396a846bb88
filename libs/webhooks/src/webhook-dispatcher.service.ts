import { Injectable, Logger } from '@nestjs/common';
import {
  AppConfig,
  DomainEvent,
  newId,
  OutboxService,
  QueueName,
  QueueRegistry,
  Tx,
  UnitOfWork,
} from '@app/core';
import { retryDelayMs, parseRetryAfter } from './retry-schedule';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository';
import { WebhookDeliveryEntity } from './webhook-delivery.entity';
import { postWebhook, WebhookResponse } from './webhook-http';
import { signWebhook } from './webhook-signer';
import { webhookBody } from './webhooks.service';
import { DeliveryWebhook, WebhooksRepository } from './webhooks.repository';

export const USER_AGENT = 'OpenClaw-CoCode-Webhooks/2.0';
/** An attempt's lease is WEBHOOKS_TIMEOUT_MS and this. */
const LEASE_MARGIN_SECONDS = 5;

type Outcome = 'succeeded' | 'retrying' | 'failed' | 'skipped';

/**
 * The worker side of webhooks: fans events out into one delivery per subscribed webhook, and
 * makes delivery attempts. Every attempt is recorded; failures retry with exponential backoff
 * and jitter (honouring Retry-After); 410 Gone, or failing for days, disables the webhook.
 */
@Injectable()
export class WebhookDispatcher {
  private readonly logger = new Logger(WebhookDispatcher.name);

  constructor(
    private readonly webhooks: WebhooksRepository,
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly uow: UnitOfWork,
    private readonly outbox: OutboxService,
    private readonly queues: QueueRegistry,
    private readonly config: AppConfig,
  ) {}

  /** One delivery per webhook subscribed to the event (global ones, and the event's project's). Safe to repeat. */
  async fanout(event: DomainEvent): Promise<number> {
    return this.uow.run(async (tx) => {
      const targets = await this.webhooks.subscribersWithoutDelivery(tx.manager, event);
      if (!targets.length) return 0;
      // One INSERT for all deliveries and one for their jobs, however many subscribers.
      const body = webhookBody(event);
      const ids = targets.map(() => newId('delivery'));
      await this.deliveries.insertPending(
        tx.manager,
        event,
        body,
        targets.map((t, i) => ({ id: ids[i], webhookId: t.id })),
      );
      await this.outbox.enqueueMany(
        tx,
        'webhook.deliver',
        ids.map((deliveryId) => ({ deliveryId })),
      );
      return targets.length;
    });
  }

  /** One attempt of one delivery. */
  async deliver(deliveryId: string): Promise<Outcome> {
    const cfg = this.config.webhooks;
    // Take a lease: of two jobs for one delivery (a retry and a redelivery), one sends. A worker
    // that dies mid-attempt leaves the lease to lapse, and the sweep hands the delivery on.
    const attempt = await this.deliveries.claim(deliveryId, this.leaseSeconds);
    if (attempt === undefined) return 'skipped';
    const delivery = await this.deliveries.get(deliveryId);
    const webhook = await this.webhooks.forDelivery(delivery.webhookId);
    if (!webhook || !webhook.active) {
      await this.finish(deliveryId, { status: 'failed', lastStatusCode: null, nextAttemptAt: null });
      return 'failed';
    }

    const signed = signWebhook(
      webhook.secret,
      delivery.eventId,
      Math.floor(Date.now() / 1000),
      delivery.body,
    );
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      'x-webhook-event': delivery.eventType,
      'x-webhook-attempt': String(attempt),
      'x-webhook-delivery': delivery.id,
      ...signed,
    };
    let response: WebhookResponse | null = null;
    let error: string | null = null;
    const started = Date.now();
    try {
      response = await postWebhook(webhook.url, headers, delivery.body, {
        timeoutMs: cfg.timeoutMs,
        allowPrivate: cfg.allowPrivate,
      });
    } catch (err) {
      error = (err as Error).message.slice(0, 1000);
    }
    await this.deliveries.insertAttempt({
      deliveryId,
      attempt,
      requestHeaders: headers,
      responseStatus: response?.status ?? null,
      durationMs: response?.durationMs ?? Date.now() - started,
      responseExcerpt: response?.excerpt ?? null,
      error,
    });

    const status = response?.status ?? null;
    if (status !== null && status >= 200 && status < 300) {
      await this.uow.run(async (tx) => {
        await this.deliveries.update(
          deliveryId,
          { status: 'succeeded', lastStatusCode: status, nextAttemptAt: null, lockedUntil: null },
          tx.manager,
        );
        await this.webhooks.update(webhook.id, { lastSuccessAt: new Date(), failingSince: null }, tx.manager);
      });
      return 'succeeded';
    }
    if (status === 410) {
      await this.uow.run(async (tx) => {
        await this.deliveries.update(
          deliveryId,
          { status: 'failed', lastStatusCode: status, nextAttemptAt: null, lockedUntil: null },
          tx.manager,
        );
        await this.disable(tx, webhook, 'the receiver answered 410 Gone');
      });
      return 'failed';
    }

    const failingSince = webhook.failingSince ?? new Date();
    const failingForMs = Date.now() - failingSince.getTime();
    if (failingForMs >= cfg.disableAfterSeconds * 1000) {
      await this.uow.run(async (tx) => {
        await this.deliveries.update(
          deliveryId,
          { status: 'failed', lastStatusCode: status, nextAttemptAt: null, lockedUntil: null },
          tx.manager,
        );
        const hours = Math.round(failingForMs / 3600_000);
        await this.disable(
          tx,
          webhook,
          `deliveries failed for ${hours >= 1 ? `${hours} hours` : `${Math.round(failingForMs / 1000)} seconds`} without a success (last: ${status ?? error})`,
        );
      });
      return 'failed';
    }
    if (!webhook.failingSince) await this.webhooks.update(webhook.id, { failingSince });
    if (attempt >= cfg.maxAttempts) {
      await this.finish(deliveryId, { status: 'failed', lastStatusCode: status, nextAttemptAt: null });
      return 'failed';
    }
    const delay = retryDelayMs(
      attempt + 1,
      cfg.retryBaseMs,
      parseRetryAfter(response?.headers['retry-after'] as string | undefined),
    );
    await this.finish(deliveryId, {
      status: 'retrying',
      lastStatusCode: status,
      nextAttemptAt: new Date(Date.now() + delay),
    });
    await this.scheduleAttempt(deliveryId, attempt + 1, delay);
    return 'retrying';
  }

  /**
   * How long an attempt holds its delivery: the request's timeout and a little. An attempt
   * always ends (or records its outcome) within it, so a lapsed lease means its worker died.
   */
  get leaseSeconds(): number {
    return Math.ceil(this.config.webhooks.timeoutMs / 1000) + LEASE_MARGIN_SECONDS;
  }

  /**
   * The sweep (every WEBHOOKS_SWEEP_INTERVAL_MS, and at start): takes over deliveries whose
   * attempt's lease lapsed (its worker was killed mid-attempt: the attempt is recorded as lost
   * and the next one queued at once, so at-least-once, never a silent stall), and re-queues
   * deliveries whose next attempt is overdue with no attempt running (the process died between
   * recording a failure and scheduling the retry, or the job was lost). Job ids make a duplicate
   * harmless; the lease makes two jobs for one delivery send once.
   */
  async resumeOverdue(): Promise<number> {
    const lapsed = await this.deliveries.releaseLapsed();
    for (const d of lapsed) {
      await this.deliveries.insertAttempt({
        deliveryId: d.id,
        attempt: d.attempts,
        requestHeaders: {},
        responseStatus: null,
        durationMs: 0,
        responseExcerpt: null,
        error: 'the worker making this attempt stopped before it finished; the next attempt was queued',
      });
      this.logger.warn({ msg: 'webhook delivery taken over from a lost worker', deliveryId: d.id });
      await this.scheduleAttempt(d.id, d.attempts + 1, 0);
    }
    const overdue = await this.deliveries.overdue();
    for (const d of overdue) await this.scheduleAttempt(d.id, d.attempts + 1, 0);
    return lapsed.length + overdue.length;
  }

  private async scheduleAttempt(deliveryId: string, attempt: number, delayMs: number): Promise<void> {
    await this.queues
      .get(QueueName.Webhooks)
      .add('webhook.deliver', { deliveryId }, { delay: delayMs, jobId: `${deliveryId}-attempt-${attempt}` });
  }

  private async finish(
    deliveryId: string,
    fields: Pick<WebhookDeliveryEntity, 'status' | 'lastStatusCode' | 'nextAttemptAt'>,
  ): Promise<void> {
    await this.deliveries.update(deliveryId, { ...fields, lockedUntil: null });
  }

  /** Switches a webhook off, says why, and tells the other subscribers (webhook.disabled). */
  private async disable(tx: Tx, webhook: DeliveryWebhook, reason: string): Promise<void> {
    await this.webhooks.update(
      webhook.id,
      { active: false, disabledReason: reason, disabledAt: new Date() },
      tx.manager,
    );
    await this.outbox.publish(
      tx,
      'webhook.disabled',
      {
        webhook: { id: webhook.id, url: webhook.url, projectId: webhook.projectId, events: webhook.events },
        reason,
      },
      webhook.projectId,
    );
    this.logger.warn({ msg: 'webhook disabled', webhookId: webhook.id, reason });
  }
}
