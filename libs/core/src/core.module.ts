import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { PrincipalEvents } from './access/principal-events';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { BackingServicesHealth } from './health/health.indicators';
import { HealthRepository } from './health/health.repository';
import { IdempotencyModule } from './idempotency/idempotency.module';
import { MetricsService } from './metrics/metrics.service';
import { OutboxModule } from './outbox/outbox.module';
import { QueueModule } from './queues/queue.module';
import { RedisModule } from './redis/redis.module';

/** Everything both apps need: config, PostgreSQL, Redis, queues, outbox, idempotency, health. */
@Global()
@Module({
  imports: [
    ConfigModule,
    DatabaseModule,
    RedisModule,
    QueueModule,
    OutboxModule,
    IdempotencyModule,
    TerminusModule,
  ],
  providers: [HealthRepository, BackingServicesHealth, PrincipalEvents, MetricsService],
  exports: [
    ConfigModule,
    DatabaseModule,
    RedisModule,
    QueueModule,
    OutboxModule,
    IdempotencyModule,
    TerminusModule,
    BackingServicesHealth,
    PrincipalEvents,
    MetricsService,
  ],
})
export class CoreModule {}
