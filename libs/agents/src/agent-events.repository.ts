import { Injectable } from '@nestjs/common';
import { Sql } from '@app/core';
import { AgentEventType } from './agent-event.entity';

export interface AgentEventRow {
  id: string;
  type: AgentEventType;
  data: Record<string, unknown>;
  created_at: Date;
}

/** The agent_activation_events table (append-only; ids increase). */
@Injectable()
export class AgentEventsRepository {
  constructor(private readonly sql: Sql) {}

  /** Several events in one INSERT; their ids and times, in order. */
  insertMany(
    activationId: string,
    events: Array<{ type: AgentEventType; data: Record<string, unknown> }>,
  ): Promise<Array<{ id: string; created_at: Date; flow_id: string | null }>> {
    const values: unknown[] = [activationId];
    const tuples = events.map((e) => {
      values.push(e.type, JSON.stringify(e.data));
      return `($1, $${values.length - 1}, $${values.length}::jsonb, clock_timestamp())`;
    });
    return this.sql.rows<{ id: string; created_at: Date; flow_id: string | null }>(
      `INSERT INTO agent_activation_events (activation_id, type, data, created_at) VALUES ${tuples.join(', ')}
       RETURNING id, created_at, (SELECT flow_id FROM agent_activations WHERE id = $1) AS flow_id`,
      values,
    );
  }

  /** Events after `afterId`, optionally of some types only, in order. */
  since(
    activationId: string,
    afterId: string,
    types?: AgentEventType[],
    limit?: number,
  ): Promise<AgentEventRow[]> {
    return this.sql.rows<AgentEventRow>(
      `SELECT id, type, data, created_at FROM agent_activation_events
        WHERE activation_id = $1 AND id > $2 AND ($3::varchar[] IS NULL OR type = ANY($3))
        ORDER BY id LIMIT $4`,
      [activationId, afterId, types ?? null, limit ?? null],
    );
  }

  /** The events of a flow's activations after `afterId`, in order, at most `limit`. */
  ofFlow(
    flowId: string,
    afterId: string,
    limit: number,
  ): Promise<Array<AgentEventRow & { activation_id: string }>> {
    return this.sql.rows<AgentEventRow & { activation_id: string }>(
      `SELECT e.id, e.type, e.data, e.created_at, e.activation_id FROM agent_activation_events e
        WHERE e.activation_id IN (SELECT id FROM agent_activations WHERE flow_id = $1) AND e.id > $2
        ORDER BY e.id LIMIT $3`,
      [flowId, afterId, limit],
    );
  }
}
