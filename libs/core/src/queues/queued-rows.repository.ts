import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Sql } from '../database/sql';

/** Where a table's sweep stopped: the last row it looked at. */
export interface QueuedCursor {
  since: string;
  id: string;
}

/**
 * The statements of the queue reconciler over any table of queued rows (`table` and `since` are
 * constants of the caller's, written into the SQL).
 */
@Injectable()
export class QueuedRowsRepository {
  constructor(private readonly sql: Sql) {}

  /** The row, still queued, locked (SKIP LOCKED) in the caller's transaction; undefined if not. */
  lockQueued(manager: EntityManager, table: string, id: string): Promise<{ id: string } | undefined> {
    return this.sql.one<{ id: string }>(
      `SELECT id FROM ${table} WHERE id = $1 AND status = 'queued' FOR UPDATE SKIP LOCKED`,
      [id],
      manager,
    );
  }

  /** Up to `limit` rows queued for longer than `graceSeconds`, in (since, id) order after `after`. */
  waiting(
    table: string,
    since: string,
    graceSeconds: number,
    limit: number,
    after: QueuedCursor | undefined,
  ): Promise<QueuedCursor[]> {
    return this.sql.rows<QueuedCursor>(
      `SELECT id, ${since}::text AS since FROM ${table}
        WHERE status = 'queued' AND ${since} < now() - make_interval(secs => $1)
              ${after ? `AND (${since}, id) > ($3::timestamptz, $4)` : ''}
        ORDER BY ${since}, id LIMIT $2`,
      after ? [graceSeconds, limit, after.since, after.id] : [graceSeconds, limit],
    );
  }
}
