import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { redisOptionsFromUrl } from '../redis/redis-options';
import { QueueName } from './job-catalogue';
import { QueueReconciler } from './queue-reconciler';
import { QueueRegistry } from './queue.registry';
import { QueuedRowsRepository } from './queued-rows.repository';

@Global()
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        connection: { ...redisOptionsFromUrl(config.redis.url), maxRetriesPerRequest: null },
        prefix: `${config.redis.prefix}:bull`,
        defaultJobOptions: {
          attempts: 5,
          backoff: { type: 'exponential', delay: 1000 },
          // Completed jobs are kept a day so a re-relayed outbox row (same jobId) is not run twice.
          removeOnComplete: { age: 24 * 3600, count: 50_000 },
          removeOnFail: { age: 7 * 24 * 3600 },
        },
      }),
    }),
    BullModule.registerQueue(...Object.values(QueueName).map((name) => ({ name }))),
  ],
  providers: [QueueRegistry, QueuedRowsRepository, QueueReconciler],
  exports: [BullModule, QueueRegistry, QueueReconciler],
})
export class QueueModule {}
