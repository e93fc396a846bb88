import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import { redisOptionsFromUrl } from './redis-options';

/**
 * The process's Redis connections. Every key this project writes goes under the configured
 * prefix, so several deployments (or test runs) can share one Redis.
 */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  private readonly logger = new Logger(RedisService.name);
  readonly client: Redis;
  readonly prefix: string;
  private readonly extra: Redis[] = [];

  constructor(config: AppConfig) {
    this.prefix = `${config.redis.prefix}:`;
    this.client = new Redis({
      ...redisOptionsFromUrl(config.redis.url),
      keyPrefix: this.prefix,
      // Answer fast when Redis is away instead of queueing commands for ever.
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      lazyConnect: false,
    });
    this.client.on('error', (err) => this.logger.warn(`redis: ${err.message}`));
  }

  /** A dedicated connection for SUBSCRIBE; channel names must be prefixed with `channel()`. */
  subscriber(): Redis {
    const sub = new Redis({ ...redisOptionsFromUrl(this.clientUrl), maxRetriesPerRequest: null });
    sub.on('error', (err) => this.logger.warn(`redis subscriber: ${err.message}`));
    this.extra.push(sub);
    return sub;
  }

  channel(name: string): string {
    return `${this.prefix}${name}`;
  }

  async ping(): Promise<boolean> {
    return (await this.client.ping()) === 'PONG';
  }

  private get clientUrl(): string {
    const o = this.client.options;
    const auth = o.password
      ? `${encodeURIComponent(o.username ?? '')}:${encodeURIComponent(o.password)}@`
      : '';
    return `${o.tls ? 'rediss' : 'redis'}://${auth}${o.host}:${o.port}/${o.db ?? 0}`;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([this.client, ...this.extra].map((c) => c.quit()));
  }
}
