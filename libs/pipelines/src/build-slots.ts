import { Injectable } from '@nestjs/common';
import { RedisService } from '@app/core';

const KEY = 'builds:slots';

/**
 * How many builds the platform can run at once: every worker announces its build slots in Redis
 * (a sorted set scored by expiry) while it lives; gateways add up the live announcements for
 * the queue estimate.
 */
@Injectable()
export class BuildSlots {
  constructor(private readonly redis: RedisService) {}

  async announce(workerId: string, slots: number, ttlMs: number): Promise<void> {
    const c = this.redis.client;
    // One member per worker: drop its previous announcement, whatever the slot count was.
    const mine = (await c.zrange(KEY, 0, -1)).filter((m) => m.startsWith(`${workerId}|`));
    const multi = c.multi();
    if (mine.length) multi.zrem(KEY, ...mine);
    await multi.zadd(KEY, Date.now() + ttlMs, `${workerId}|${slots}`).exec();
  }

  async withdraw(workerId: string, slots: number): Promise<void> {
    await this.redis.client.zrem(KEY, `${workerId}|${slots}`);
  }

  /** Slots of the live workers; at least 1 (with no worker, the estimate assumes one will come). */
  async total(): Promise<number> {
    const c = this.redis.client;
    await c.zremrangebyscore(KEY, '-inf', Date.now());
    const members = await c.zrange(KEY, 0, -1);
    const slots = members.reduce((n, m) => n + (Number(m.split('|')[1]) || 0), 0);
    return Math.max(1, slots);
  }
}
