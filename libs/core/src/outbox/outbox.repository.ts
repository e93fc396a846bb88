import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Sql } from '../database/sql';
import { QueueName } from '../queues/job-catalogue';

/** An outbox row waiting to be relayed. */
export interface PendingOutboxRow {
  id: string;
  queue: QueueName;
  name: string;
  payload: Record<string, unknown>;
  request_id: string | null;
  job_id: string | null;
}

/** The outbox_messages table: writes in the caller's transaction, the relay's claim and marks. */
@Injectable()
export class OutboxRepository {
  constructor(private readonly sql: Sql) {}

  /** Many rows of one job in one INSERT. */
  async insert(
    manager: EntityManager,
    queue: QueueName,
    name: string,
    requestId: string | null,
    jobId: string | null,
    payloads: unknown[],
  ): Promise<void> {
    const values: unknown[] = [queue, name, requestId, jobId];
    const rows = payloads.map((p) => {
      values.push(JSON.stringify(p));
      return `($1, $2, $${values.length}, $3, $4)`;
    });
    await this.sql.exec(
      `INSERT INTO outbox_messages (queue, name, payload, request_id, job_id) VALUES ${rows.join(', ')}`,
      values,
      manager,
    );
  }

  /** The oldest undispatched rows, locked (SKIP LOCKED: relays running at once take different rows). */
  claimPending(manager: EntityManager, limit: number): Promise<PendingOutboxRow[]> {
    return this.sql.rows<PendingOutboxRow>(
      `SELECT id, queue, name, payload, request_id, job_id FROM outbox_messages
          WHERE dispatched_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit],
      manager,
    );
  }

  async markFailed(manager: EntityManager, ids: string[], error: string): Promise<void> {
    await this.sql.exec(
      `UPDATE outbox_messages SET attempts = attempts + 1, last_error = $2 WHERE id = ANY($1::bigint[])`,
      [ids, error],
      manager,
    );
  }

  async markDispatched(manager: EntityManager, ids: string[]): Promise<void> {
    await this.sql.exec(
      `UPDATE outbox_messages SET dispatched_at = now(), attempts = attempts + 1 WHERE id = ANY($1::bigint[])`,
      [ids],
      manager,
    );
  }
}
