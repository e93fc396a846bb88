import { Injectable, Logger } from '@nestjs/common';
import { RedisService } from '@app/core';
import Redis from 'ioredis';

type Listener = (message: string) => void;

/**
 * Messages between processes over Redis pub/sub (channels under the configured prefix): a worker
 * publishes a build's new log events, every gateway streaming that build hears them; a gateway
 * publishes a cancel, the worker running the build hears it. One subscriber connection per
 * process, shared by every listener. Pub/sub may drop a message (a reconnect): listeners treat
 * messages as a wake-up and read the durable state (PostgreSQL) for anything they missed.
 */
@Injectable()
export class LiveEvents {
  private readonly logger = new Logger(LiveEvents.name);
  private subscriber: Redis | null = null;
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly subscribing = new Map<string, Promise<unknown>>();

  constructor(private readonly redis: RedisService) {}

  async publish(name: string, message: string): Promise<void> {
    try {
      await this.redis.client.publish(this.redis.channel(name), message);
    } catch (err) {
      this.logger.warn(
        `could not publish on ${name} (readers fall back to polling): ${(err as Error).message}`,
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
      this.logger.warn(`could not subscribe to ${name} (readers fall back to polling): ${err.message}`);
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
