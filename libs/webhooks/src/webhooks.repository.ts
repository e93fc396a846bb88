import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Sql } from '@app/core';
import { DataSource, EntityManager } from 'typeorm';
import { WebhookEntity } from './webhook.entity';

/** What a webhook list is narrowed by. */
export interface WebhookFilter {
  /** Only the projects this user is a member of (callers who are not webhook administrators). */
  memberId?: string;
  projectId?: string;
  event?: string;
  active?: boolean;
}

/** The columns a delivery attempt reads of its webhook. */
export type DeliveryWebhook = Pick<
  WebhookEntity,
  'id' | 'url' | 'secret' | 'active' | 'projectId' | 'failingSince' | 'events'
>;

/** The webhooks table. Without a manager a statement runs outside any transaction. */
@Injectable()
export class WebhooksRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly sql: Sql,
  ) {}

  async insert(manager: EntityManager, webhook: Partial<WebhookEntity>): Promise<void> {
    await manager.insert(WebhookEntity, webhook);
  }

  find(id: string, manager: EntityManager = this.dataSource.manager): Promise<WebhookEntity | null> {
    return manager.findOneBy(WebhookEntity, { id });
  }

  get(id: string, manager: EntityManager): Promise<WebhookEntity> {
    return manager.findOneByOrFail(WebhookEntity, { id });
  }

  async update(
    id: string,
    changes: Partial<WebhookEntity>,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<void> {
    await manager.update(WebhookEntity, { id }, changes);
  }

  async delete(id: string, manager: EntityManager): Promise<void> {
    await manager.delete(WebhookEntity, { id });
  }

  /** One page, newest (or oldest) first, and the total. */
  async page(
    filter: WebhookFilter,
    page: { page: number; pageSize: number; sortOrder?: 'asc' | 'desc' },
  ): Promise<[WebhookEntity[], number]> {
    const qb = this.dataSource.manager.createQueryBuilder(WebhookEntity, 'w');
    if (filter.memberId !== undefined) {
      qb.where('w.project_id IN (SELECT project_id FROM project_members WHERE user_id = :me)', {
        me: filter.memberId,
      });
    }
    if (filter.projectId) qb.andWhere('w.project_id = :projectId', { projectId: filter.projectId });
    if (filter.event) qb.andWhere('w.events @> ARRAY[:event]::text[]', { event: filter.event });
    if (filter.active !== undefined) qb.andWhere('w.active = :active', { active: filter.active });
    const order = page.sortOrder === 'asc' ? 'ASC' : 'DESC';
    return qb
      .orderBy('w.created_at', order)
      .addOrderBy('w.id', order)
      .skip((page.page - 1) * page.pageSize)
      .take(page.pageSize)
      .getManyAndCount();
  }

  /** The webhook a delivery attempt sends to. */
  forDelivery(id: string): Promise<DeliveryWebhook | null> {
    return this.dataSource.manager.findOne(WebhookEntity, {
      where: { id },
      select: {
        id: true,
        url: true,
        secret: true,
        active: true,
        projectId: true,
        failingSince: true,
        events: true,
      },
    });
  }

  /** The active webhooks subscribed to an event (global ones and the project's) without a delivery of it yet. */
  subscribersWithoutDelivery(
    manager: EntityManager,
    event: { id: string; type: string; projectId: string | null },
  ): Promise<Array<{ id: string }>> {
    return this.sql.rows<{ id: string }>(
      `SELECT id FROM webhooks
          WHERE active AND events @> ARRAY[$1]::text[] AND (project_id IS NULL OR project_id = $2)
            AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.webhook_id = webhooks.id AND d.event_id = $3)`,
      [event.type, event.projectId, event.id],
      manager,
    );
  }
}
