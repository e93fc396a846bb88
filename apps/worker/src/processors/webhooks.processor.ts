import { Processor } from '@nestjs/bullmq';
import { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { MetricsService, QueueName } from '@app/core';
import { WebhookDispatcher } from '@app/webhooks';
import { JobHandlers, JobProcessor } from './job-processor';

const RESUME_EVERY_MS = 30_000;

@Processor(QueueName.Webhooks)
export class WebhooksProcessor
  extends JobProcessor<QueueName.Webhooks>
  implements OnModuleInit, OnModuleDestroy
{
  readonly queue = QueueName.Webhooks;
  protected readonly handlers: JobHandlers<QueueName.Webhooks> = {
    'event.fanout': (event) => this.dispatcher.fanout(event),
    'webhook.deliver': (data) => this.dispatcher.deliver(data.deliveryId),
  };
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly dispatcher: WebhookDispatcher,
    metrics: MetricsService,
  ) {
    super(metrics);
  }

  onModuleInit(): void {
    this.timer = setInterval(() => {
      this.dispatcher
        .resumeOverdue()
        .catch((err: Error) => this.logger.warn(`resuming overdue deliveries failed: ${err.message}`));
    }, RESUME_EVERY_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
