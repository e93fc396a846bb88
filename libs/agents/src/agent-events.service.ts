import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { iso, RedisService, Sql } from '@app/core';
import Redis from 'ioredis';
import { AgentEventType } from './agent-event.entity';

export interface AgentEventRecord {
  id: string;
  type: AgentEventType;
  data: Record<string, unknown>;
  createdAt: string;
}

const channelOf = (activationId: string) => `agents:events:${activationId}`;

/**
 * Appends activation events (a row, then a Redis publish) and lets gateways listen to them.
 * The database is the record (ids increase, nothing is lost); Redis only carries the news
 * to every gateway replica, whichever worker produced it.
 */
@Injectable()
export class AgentEvents implements OnModuleDestroy {
  private readonly logger = new Logger(AgentEvents.name);
  private subscriber: Redis | null = null;
  private readonly listeners = new Map<string, Set<(e: AgentEventRecord) => void>>();

  constructor(
    private readonly sql: Sql,
    private readonly redis: RedisService,
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
    const values: unknown[] = [activationId];
    const tuples = events.map((e) => {
      values.push(e.type, JSON.stringify(e.data));
      return `($1, $${values.length - 1}, $${values.length}::jsonb, clock_timestamp())`;
    });
    const rows = await this.sql.rows<{ id: string; created_at: Date }>(
      `INSERT INTO agent_activation_events (activation_id, type, data, created_at) VALUES ${tuples.join(', ')} RETURNING id, created_at`,
      values,
    );
    const records = rows.map((row, i) => ({
      id: String(row.id),
      type: events[i].type,
      data: events[i].data,
      createdAt: iso(row.created_at),
    }));
    const channel = this.redis.channel(channelOf(activationId));
    const pipeline = this.redis.client.pipeline();
    for (const r of records) pipeline.publish(channel, JSON.stringify(r));
    await pipeline.exec().catch((err: Error) => {
      this.logger.warn(
        `could not publish activation events (listeners catch up from the database): ${err.message}`,
      );
    });
    return records;
  }

  /** Events after `afterId` (all when null), in order. */
  async since(
    activationId: string,
    afterId: string | null,
    types?: AgentEventType[],
  ): Promise<AgentEventRecord[]> {
    const rows = await this.sql.rows<{
      id: string;
      type: AgentEventType;
      data: Record<string, unknown>;
      created_at: Date;
    }>(
      `SELECT id, type, data, created_at FROM agent_activation_events
        WHERE activation_id = $1 AND id > $2 ${types ? 'AND type = ANY($3)' : ''} ORDER BY id`,
      types ? [activationId, afterId ?? '0', types] : [activationId, afterId ?? '0'],
    );
    return rows.map((r) => ({ id: String(r.id), type: r.type, data: r.data, createdAt: iso(r.created_at) }));
  }

  /** Calls `fn` for each new event of the activation until the returned function is called. */
  async listen(activationId: string, fn: (e: AgentEventRecord) => void): Promise<() => void> {
    const channel = this.redis.channel(channelOf(activationId));
    if (!this.subscriber) {
      this.subscriber = this.redis.subscriber();
      this.subscriber.on('message', (ch: string, message: string) => {
        const set = this.listeners.get(ch);
        if (!set) return;
        const event = JSON.parse(message) as AgentEventRecord;
        for (const listener of set) listener(event);
      });
    }
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      await this.subscriber.subscribe(channel);
    }
    set.add(fn);
    return () => {
      set!.delete(fn);
      if (set!.size === 0) {
        this.listeners.delete(channel);
        void this.subscriber?.unsubscribe(channel).catch(() => undefined);
      }
    };
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscriber?.quit().catch(() => undefined);
  }
}
