import { Injectable } from '@nestjs/common';
import { followRecord, Heartbeat, iso, LiveEvents } from '@app/core';
import { AgentEventType, TERMINAL_EVENT_TYPES } from './agent-event.entity';
import { AgentEventsRepository } from './agent-events.repository';

export interface AgentEventRecord {
  id: string;
  type: AgentEventType;
  data: Record<string, unknown>;
  createdAt: string;
}

/** Events read at once by a stream. */
const PAGE = 500;

const channelOf = (activationId: string) => `agents:events:${activationId}`;
/** Wakes the readers of a flow's events: its own and its activations' (the message is only news). */
export const flowEventsChannel = (flowId: string) => `flows:events:${flowId}`;

/**
 * Appends activation events (a row, then a Redis publish) and lets gateways listen to them.
 * The database is the record (ids increase, nothing is lost); Redis only carries the news
 * to every gateway replica, whichever worker produced it.
 */
@Injectable()
export class AgentEvents {
  constructor(
    private readonly rows: AgentEventsRepository,
    private readonly live: LiveEvents,
  ) {}

  async append(
    activationId: string,
    type: AgentEventType,
    data: Record<string, unknown>,
  ): Promise<AgentEventRecord> {
    return (await this.appendMany(activationId, [{ type, data }]))[0];
  }

  /** Several events in one INSERT and one Redis round trip (a step's completion writes three). */
  async appendMany(
    activationId: string,
    events: Array<{ type: AgentEventType; data: Record<string, unknown> }>,
  ): Promise<AgentEventRecord[]> {
    const rows = await this.rows.insertMany(activationId, events);
    const records = rows.map((row, i) => ({
      id: String(row.id),
      type: events[i].type,
      data: events[i].data,
      createdAt: iso(row.created_at),
    }));
    await this.live.publish(channelOf(activationId), ...records.map((r) => JSON.stringify(r)));
    const flowId = rows[0]?.flow_id;
    if (flowId) await this.live.publish(flowEventsChannel(flowId), records[records.length - 1].id);
    return records;
  }

  /** Events after `afterId` (all when null), in order. */
  async since(
    activationId: string,
    afterId: string | null,
    types?: AgentEventType[],
    limit?: number,
  ): Promise<AgentEventRecord[]> {
    const rows = await this.rows.since(activationId, afterId ?? '0', types, limit);
    return rows.map((r) => ({ id: String(r.id), type: r.type, data: r.data, createdAt: iso(r.created_at) }));
  }

  /** The events of a flow's activations after `afterId`, in order, at most `limit`. */
  async ofFlow(
    flowId: string,
    afterId: string,
    limit: number,
  ): Promise<Array<AgentEventRecord & { activationId: string }>> {
    const rows = await this.rows.ofFlow(flowId, afterId, limit);
    return rows.map((r) => ({
      id: String(r.id),
      type: r.type,
      data: r.data,
      createdAt: iso(r.created_at),
      activationId: r.activation_id,
    }));
  }

  /**
   * The activation's events after `after` (a Last-Event-ID), then as they happen, until its
   * terminal event (completed, failed, cancelled, ...), a quiet read of an activation that has
   * ended, or `signal`.
   */
  stream(
    activationId: string,
    after: string,
    signal: AbortSignal,
    ended: () => Promise<boolean>,
  ): AsyncGenerator<AgentEventRecord | Heartbeat> {
    return followRecord<AgentEventRecord>({
      live: this.live,
      channel: channelOf(activationId),
      after,
      signal,
      idleMs: 15_000,
      read: async (last) => {
        const items = await this.since(activationId, last, undefined, PAGE);
        return { items, more: items.length === PAGE };
      },
      over: async (items) =>
        items.some((e) => TERMINAL_EVENT_TYPES.includes(e.type)) || (!items.length && (await ended())),
    });
  }
}
