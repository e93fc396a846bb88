import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { RedisService } from '../redis/redis.service';
import { HealthRepository } from './health.repository';

const withTimeout = <T>(p: Promise<T>, ms: number): Promise<T> =>
  Promise.race([
    p,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms).unref(),
    ),
  ]);

/** Readiness checks shared by the gateway and the worker. */
@Injectable()
export class BackingServicesHealth {
  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly health: HealthRepository,
    private readonly redis: RedisService,
  ) {}

  async database() {
    const check = this.indicator.check('database');
    try {
      await withTimeout(this.health.ping(), 2000);
      return check.up();
    } catch (err) {
      return check.down({ message: (err as Error).message });
    }
  }

  async redisCheck() {
    const check = this.indicator.check('redis');
    try {
      await withTimeout(this.redis.ping(), 2000);
      return check.up();
    } catch (err) {
      return check.down({ message: (err as Error).message });
    }
  }
}
