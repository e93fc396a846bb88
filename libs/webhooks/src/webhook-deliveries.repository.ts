import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Sql } from '@app/core';
import { DataSource, EntityManager } from 'typeorm';
import { WebhookAttemptEntity } from './webhook-attempt.entity';
import { WebhookDeliveryEntity } from './webhook-delivery.entity';

/** A delivery's id and how many attempts it has had. */
export interface DeliveryAttempts {
  id: string;
  attempts: number;
}

/**
 * The webhook_deliveries and webhook_attempts tables. Without a manager a statement runs outside
 * any transaction (the attempt's lease and outcome are single statements).
 */
@Injectable()
export class WebhookDeliveriesRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly sql: Sql,
  ) {}

  async insert(manager: EntityManager, delivery: Partial<WebhookDeliveryEntity>): Promise<void> {
    await manager.insert(WebhookDeliveryEntity, delivery);
  }

  /** One pending delivery of an event per webhook, in one INSERT. */
  async insertPending(
    manager: EntityManager,
    event: { id: string; type: string },
    body: string,
    deliveries: Array<{ id: string; webhookId: string }>,
  ): Promise<void> {
    const values: unknown[] = [event.id, event.type, body];
    const rows = deliveries.map((d) => {
      values.push(d.id, d.webhookId);
      return `($${values.length - 1}, $${values.length}, $1, $2, $3, 'pending', 0, now())`;
    });
    await this.sql.exec(
      `INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, body, status, attempts, next_attempt_at) VALUES ${rows.join(', ')}`,
      values,
      manager,
    );
  }

  find(
    webhookId: string,
    id: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<WebhookDeliveryEntity | null> {
    return manager.findOneBy(WebhookDeliveryEntity, { id, webhookId });
  }

  get(id: string, manager: EntityManager = this.dataSource.manager): Promise<WebhookDeliveryEntity> {
    return manager.findOneByOrFail(WebhookDeliveryEntity, { id });
  }

  async update(
    id: string,
    changes: Partial<WebhookDeliveryEntity>,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<void> {
    await manager.update(WebhookDeliveryEntity, { id }, changes);
  }

  /** A webhook's deliveries, one page, and the total. */
  page(
    webhookId: string,
    status: WebhookDeliveryEntity['status'] | undefined,
    page: { page: number; pageSize: number; sortOrder?: 'asc' | 'desc' },
  ): Promise<[WebhookDeliveryEntity[], number]> {
    return this.dataSource.manager.findAndCount(WebhookDeliveryEntity, {
      where: { webhookId, ...(status ? { status } : {}) },
      order: { createdAt: page.sortOrder === 'asc' ? 'ASC' : 'DESC', id: 'ASC' },
      skip: (page.page - 1) * page.pageSize,
      take: page.pageSize,
    });
  }

  attempts(deliveryId: string): Promise<WebhookAttemptEntity[]> {
    return this.dataSource.manager.find(WebhookAttemptEntity, {
      where: { deliveryId },
      order: { attempt: 'ASC', id: 'ASC' },
    });
  }

  async insertAttempt(attempt: Partial<WebhookAttemptEntity>): Promise<void> {
    await this.dataSource.manager.insert(WebhookAttemptEntity, attempt);
  }

  /**
   * Takes the delivery's lease for one attempt (of two jobs for one delivery, one sends); its
   * attempt number, or undefined when it is not due or another attempt holds it.
   */
  async claim(deliveryId: string, leaseSeconds: number): Promise<number | undefined> {
    const [claimed] = await this.sql.rows<{ attempts: number }>(
      `UPDATE webhook_deliveries SET attempts = attempts + 1, locked_until = now() + make_interval(secs => $2), updated_at = now()
        WHERE id = $1 AND status IN ('pending', 'retrying') AND (locked_until IS NULL OR locked_until < now())
        RETURNING attempts`,
      [deliveryId, leaseSeconds],
    );
    return claimed?.attempts;
  }

  /** Frees deliveries whose attempt's lease lapsed (up to 500); their ids and attempts. */
  releaseLapsed(): Promise<DeliveryAttempts[]> {
    return this.sql.rows<DeliveryAttempts>(
      `UPDATE webhook_deliveries SET locked_until = NULL, updated_at = now()
        WHERE id IN (SELECT id FROM webhook_deliveries
                      WHERE status IN ('pending', 'retrying') AND locked_until < now()
                      ORDER BY locked_until LIMIT 500 FOR UPDATE SKIP LOCKED)
          AND locked_until < now()
        RETURNING id, attempts`,
    );
  }

  /** Deliveries whose next attempt is overdue with no attempt running (up to 500). */
  overdue(): Promise<DeliveryAttempts[]> {
    return this.sql.rows<DeliveryAttempts>(
      `SELECT id, attempts FROM webhook_deliveries
        WHERE status IN ('pending', 'retrying') AND next_attempt_at < now() - interval '30 seconds'
          AND locked_until IS NULL
        ORDER BY next_attempt_at LIMIT 500`,
    );
  }
}
