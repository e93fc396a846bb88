import { Injectable, Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { RedisService } from './redis.service';

type Listener = (message: string) => void;

/**
 * Messages between processes over Redis pub/sub (channels under the configured prefix): a worker
 * publishes a build's log events or an activation's progress, every gateway streaming them hears
 * them; a gateway publishes a build's cancel, the worker running it hears it; any process
 * publishes a principal change, every gateway's principal cache hears it. One subscriber
 * connection per process, shared by every listener. Pub/sub may drop a message (a reconnect):
 * listeners treat messages as news and keep the durable state (PostgreSQL) as the record.
 */
@Injectable()
export class LiveEvents {
  private readonly logger = new Logger(LiveEvents.name);
  private subscriber: Redis | null = null;
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly subscribing = new Map<string, Promise<unknown>>();

  constructor(private readonly redis: RedisService) {}

  /** Publishes; a failure is logged, not thrown (the readers catch up from the record). */
  async publish(name: string, ...messages: string[]): Promise<void> {
    const channel = this.redis.channel(name);
    try {
      if (messages.length === 1) await this.redis.client.publish(channel, messages[0]);
      else {
        // Several messages in one round trip, in order.
        const pipeline = this.redis.client.pipeline();
        for (const m of messages) pipeline.publish(channel, m);
        const results = (await pipeline.exec()) ?? [];
        const failed = results.find(([err]) => err);
        if (failed) throw failed[0];
      }
    } catch (err) {
      this.logger.warn(
        `could not publish on ${name} (readers catch up from the record): ${(err as Error).message}`,
      );
    }
  }

  /** Starts listening; resolves once Redis confirmed the subscription. Returns the unsubscribe function. */
  async subscribe(name: string, listener: Listener): Promise<() => Promise<void>> {
    const channel = this.redis.channel(name);
    const sub = this.connection();
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      this.subscribing.set(channel, sub.subscribe(channel));
    }
    set.add(listener);
    await this.subscribing.get(channel)?.catch((err: Error) => {
      this.logger.warn(`could not subscribe to ${name} (readers catch up from the record): ${err.message}`);
    });
    return async () => {
      const current = this.listeners.get(channel);
      if (!current) return;
      current.delete(listener);
      if (current.size) return;
      this.listeners.delete(channel);
      this.subscribing.delete(channel);
      await sub.unsubscribe(channel).catch(() => undefined);
    };
  }

  private connection(): Redis {
    if (!this.subscriber) {
      this.subscriber = this.redis.subscriber();
      this.subscriber.on('message', (channel: string, message: string) => {
        for (const listener of this.listeners.get(channel) ?? []) {
          try {
            listener(message);
          } catch (err) {
            this.logger.warn(`listener on ${channel} failed: ${(err as Error).message}`);
          }
        }
      });
    }
    return this.subscriber;
  }
}
