import { Injectable } from '@nestjs/common';
import {
  AppConfig,
  AppError,
  iso,
  newId,
  OutboxService,
  Page,
  pageOf,
  Permission,
  Principal,
  Tx,
  UnitOfWork,
} from '@app/core';
import { ProjectAccessService } from '@app/projects';
import { AuditLogService } from '@app/users';
import { EntityManager } from 'typeorm';
import { assertSafeUrl, UnsafeTargetError } from './address-guard';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository';
import { WebhookDeliveryEntity } from './webhook-delivery.entity';
import {
  CreatedWebhookDto,
  CreateWebhookDto,
  ListDeliveriesQueryDto,
  ListWebhooksQueryDto,
  mapDelivery,
  mapWebhook,
  UpdateWebhookDto,
  WebhookDeliveryDto,
  WebhookDto,
} from './webhook.dto';
import { WebhookEntity } from './webhook.entity';
import { newWebhookSecret } from './webhook-signer';
import { WebhooksRepository } from './webhooks.repository';

/** The body every receiver gets: {id, type, createdAt, data}. */
export function webhookBody(event: { id: string; type: string; occurredAt: string; data: unknown }): string {
  return JSON.stringify({ id: event.id, type: event.type, createdAt: event.occurredAt, data: event.data });
}

/**
 * Subscriptions and their delivery log, as the API serves them. Platform-wide webhooks are for
 * administrators; a project's webhooks are managed by its members whose role may write webhooks,
 * and invisible to everybody else (404).
 */
@Injectable()
export class WebhooksService {
  constructor(
    private readonly webhooks: WebhooksRepository,
    private readonly deliveryRows: WebhookDeliveriesRepository,
    private readonly uow: UnitOfWork,
    private readonly access: ProjectAccessService,
    private readonly outbox: OutboxService,
    private readonly audit: AuditLogService,
    private readonly config: AppConfig,
  ) {}

  async create(actor: Principal, dto: CreateWebhookDto): Promise<CreatedWebhookDto> {
    if (dto.projectId) await this.access.writable(actor, dto.projectId, Permission.WebhooksWrite);
    else if (!actor.can(Permission.WebhooksAdmin)) {
      throw AppError.forbidden(
        'Only administrators manage platform-wide webhooks; pass projectId for a project webhook',
      );
    }
    await this.checkUrl(dto.url);
    const secret = dto.secret ?? newWebhookSecret();
    const id = newId('webhook');
    const webhook = await this.uow.run(async (tx) => {
      await this.webhooks.insert(tx.manager, {
        id,
        url: dto.url,
        events: dto.events,
        secret,
        active: dto.active ?? true,
        projectId: dto.projectId ?? null,
        description: dto.description ?? null,
        createdBy: actor.userId,
      });
      await this.audit.record(tx, {
        actorId: actor.userId,
        action: 'webhook.created',
        targetType: 'webhook',
        targetId: id,
        details: { url: dto.url, events: dto.events, projectId: dto.projectId ?? null },
      });
      return this.webhooks.get(id, tx.manager);
    });
    return { ...mapWebhook(webhook), secret };
  }

  async list(actor: Principal, query: ListWebhooksQueryDto): Promise<Page<WebhookDto>> {
    const [rows, total] = await this.webhooks.page(
      {
        memberId: actor.can(Permission.WebhooksAdmin) ? undefined : actor.userId,
        projectId: query.projectId,
        event: query.event,
        active: query.active,
      },
      query,
    );
    return pageOf(rows.map(mapWebhook), total, query);
  }

  async get(actor: Principal, webhookId: string): Promise<WebhookDto> {
    return mapWebhook(await this.visible(actor, webhookId));
  }

  async update(actor: Principal, webhookId: string, dto: UpdateWebhookDto): Promise<WebhookDto> {
    if (dto.url) await this.checkUrl(dto.url);
    return this.uow.run(async (tx) => {
      const webhook = await this.manageable(actor, webhookId, tx.manager);
      const changes: Partial<WebhookEntity> = {};
      if (dto.url !== undefined) changes.url = dto.url;
      if (dto.events !== undefined) changes.events = dto.events;
      if (dto.secret !== undefined) changes.secret = dto.secret;
      if (dto.description !== undefined) changes.description = dto.description;
      if (dto.active !== undefined) {
        changes.active = dto.active;
        // Switching back on forgets why the platform switched it off, and the failure streak.
        if (dto.active && !webhook.active)
          Object.assign(changes, { disabledReason: null, disabledAt: null, failingSince: null });
      }
      if (Object.keys(changes).length) {
        await this.webhooks.update(webhookId, changes, tx.manager);
        const { secret: _secret, ...logged } = changes;
        await this.audit.record(tx, {
          actorId: actor.userId,
          action: 'webhook.updated',
          targetType: 'webhook',
          targetId: webhookId,
          details: { ...logged, secretChanged: dto.secret !== undefined },
        });
      }
      return mapWebhook(await this.webhooks.get(webhookId, tx.manager));
    });
  }

  async remove(actor: Principal, webhookId: string): Promise<void> {
    await this.uow.run(async (tx) => {
      await this.manageable(actor, webhookId, tx.manager);
      await this.webhooks.delete(webhookId, tx.manager);
      await this.audit.record(tx, {
        actorId: actor.userId,
        action: 'webhook.deleted',
        targetType: 'webhook',
        targetId: webhookId,
      });
    });
  }

  async deliveries(
    actor: Principal,
    webhookId: string,
    query: ListDeliveriesQueryDto,
  ): Promise<Page<WebhookDeliveryDto>> {
    await this.visible(actor, webhookId);
    const [rows, total] = await this.deliveryRows.page(webhookId, query.status, query);
    return pageOf(
      rows.map((d) => mapDelivery(d)),
      total,
      query,
    );
  }

  async delivery(actor: Principal, webhookId: string, deliveryId: string): Promise<WebhookDeliveryDto> {
    await this.visible(actor, webhookId);
    const delivery = await this.deliveryRows.find(webhookId, deliveryId);
    if (!delivery) throw AppError.notFound('delivery', deliveryId);
    const attempts = await this.deliveryRows.attempts(deliveryId);
    return mapDelivery(delivery, attempts);
  }

  /** Sends a delivery again with the same webhook-id (receivers deduplicate on it). */
  async redeliver(actor: Principal, webhookId: string, deliveryId: string): Promise<WebhookDeliveryDto> {
    return this.uow.run(async (tx) => {
      await this.manageable(actor, webhookId, tx.manager);
      const delivery = await this.deliveryRows.find(webhookId, deliveryId, tx.manager);
      if (!delivery) throw AppError.notFound('delivery', deliveryId);
      await this.deliveryRows.update(
        deliveryId,
        { status: 'pending', nextAttemptAt: new Date() },
        tx.manager,
      );
      await this.outbox.enqueue(tx, 'webhook.deliver', { deliveryId });
      await this.audit.record(tx, {
        actorId: actor.userId,
        action: 'webhook.redelivered',
        targetType: 'webhook',
        targetId: webhookId,
        details: { deliveryId },
      });
      return mapDelivery(await this.deliveryRows.get(deliveryId, tx.manager));
    });
  }

  /** A `ping` event for this webhook alone, to check the receiver end to end. */
  async ping(actor: Principal, webhookId: string): Promise<WebhookDeliveryDto> {
    return this.uow.run(async (tx) => {
      const webhook = await this.manageable(actor, webhookId, tx.manager);
      const event = {
        id: newId('event'),
        type: 'ping',
        occurredAt: iso(new Date()),
        data: { webhookId, url: webhook.url, events: webhook.events },
      };
      const delivery = await this.insertDelivery(tx, webhookId, event);
      return mapDelivery(delivery);
    });
  }

  /** Creates the delivery row and queues its first attempt, in the caller's transaction. */
  async insertDelivery(
    tx: Tx,
    webhookId: string,
    event: { id: string; type: string; occurredAt: string; data: unknown },
  ): Promise<WebhookDeliveryEntity> {
    const id = newId('delivery');
    await this.deliveryRows.insert(tx.manager, {
      id,
      webhookId,
      eventId: event.id,
      eventType: event.type,
      body: webhookBody(event),
      status: 'pending',
      attempts: 0,
      nextAttemptAt: new Date(),
    });
    await this.outbox.enqueue(tx, 'webhook.deliver', { deliveryId: id });
    return this.deliveryRows.get(id, tx.manager);
  }

  private async checkUrl(url: string): Promise<void> {
    if (this.config.webhooks.allowPrivate) return;
    try {
      await assertSafeUrl(url);
    } catch (err) {
      if (err instanceof UnsafeTargetError)
        throw AppError.validation([{ field: 'url', message: err.message, code: 'unsafe_target' }]);
      throw err;
    }
  }

  /** The webhook if the caller may see it (admins all; project members theirs), else 404. */
  private async visible(
    actor: Principal,
    webhookId: string,
    manager?: EntityManager,
  ): Promise<WebhookEntity> {
    const webhook = await this.webhooks.find(webhookId, manager);
    if (!webhook) throw AppError.notFound('webhook', webhookId);
    if (actor.can(Permission.WebhooksAdmin)) return webhook;
    if (webhook.projectId) {
      const access = await this.access.readable(actor, webhook.projectId, manager).catch(() => null);
      if (access?.memberRole) return webhook;
    }
    throw AppError.notFound('webhook', webhookId);
  }

  private async manageable(
    actor: Principal,
    webhookId: string,
    manager: EntityManager,
  ): Promise<WebhookEntity> {
    const webhook = await this.visible(actor, webhookId, manager);
    if (webhook.projectId)
      await this.access.writable(actor, webhook.projectId, Permission.WebhooksWrite, manager);
    else if (!actor.can(Permission.WebhooksAdmin))
      throw AppError.forbidden('Only administrators manage platform-wide webhooks');
    return webhook;
  }
}
