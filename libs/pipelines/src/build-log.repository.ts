import { Injectable } from '@nestjs/common';
import { Sql } from '@app/core';
import { EntityManager } from 'typeorm';
import { BuildLogKind } from './build-log-event.entity';
import { BuildStatus } from './build.entity';

export interface BuildLogEvent {
  seq: number;
  kind: BuildLogKind;
  body: string;
}

/** Every statement on `build_log_events`, and on the build's log counters. */
@Injectable()
export class BuildLogRepository {
  constructor(private readonly sql: Sql) {}

  /**
   * Appends events with the next numbers (the build row's counter serialises writers; `bytes`
   * is added to its log size), inside `manager`'s transaction when given one.
   */
  append(
    buildId: string,
    events: Array<{ kind: BuildLogKind; body: string }>,
    bytes: number,
    manager?: EntityManager,
  ): Promise<BuildLogEvent[]> {
    return this.sql.rows<BuildLogEvent>(
      `WITH s AS (UPDATE builds SET log_seq = log_seq + $2, log_bytes = log_bytes + $3 WHERE id = $1 RETURNING log_seq)
      INSERT INTO build_log_events (build_id, seq, kind, body)
      SELECT $1, s.log_seq - $2 + e.ord, e.kind, e.body
        FROM s, unnest($4::text[], $5::text[]) WITH ORDINALITY AS e(kind, body, ord)
      RETURNING seq, kind, body`,
      [buildId, events.length, bytes, events.map((e) => e.kind), events.map((e) => e.body)],
      manager,
    );
  }

  /** The build's output text (its `log` events, in order). */
  async text(buildId: string): Promise<string> {
    const [row] = await this.sql.rows<{ text: string }>(
      `SELECT coalesce(string_agg(body, '' ORDER BY seq), '') AS text FROM build_log_events WHERE build_id = $1 AND kind = 'log'`,
      [buildId],
    );
    return row.text;
  }

  /** Up to `limit` events after `seq`, in order. */
  after(buildId: string, seq: number, limit: number): Promise<BuildLogEvent[]> {
    return this.sql.rows<BuildLogEvent>(
      `SELECT seq, kind, body FROM build_log_events WHERE build_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [buildId, seq, limit],
    );
  }

  /** The build's status and the number of its last event; undefined when it is gone. */
  async progress(buildId: string): Promise<{ status: BuildStatus; log_seq: number } | undefined> {
    const [build] = await this.sql.rows<{ status: BuildStatus; log_seq: number }>(
      `SELECT status, log_seq FROM builds WHERE id = $1`,
      [buildId],
    );
    return build;
  }
}
