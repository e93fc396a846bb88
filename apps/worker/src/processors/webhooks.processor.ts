import { Processor } from '@nestjs/bullmq';
import { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { AppConfig, DomainEventListeners, MetricsService, QueueName } from '@app/core';
import { WebhookDispatcher } from '@app/webhooks';
import { JobHandlers, JobProcessor } from './job-processor';

@Processor(QueueName.Webhooks)
export class WebhooksProcessor
  extends JobProcessor<QueueName.Webhooks>
  implements OnModuleInit, OnModuleDestroy
{
  readonly queue = QueueName.Webhooks;
  protected readonly handlers: JobHandlers<QueueName.Webhooks> = {
    // The worker's own listeners first (they never throw), then the webhooks.
    'event.fanout': async (event) => {
      await this.listeners.notify(event);
      return this.dispatcher.fanout(event);
    },
    'webhook.deliver': (data) => this.dispatcher.deliver(data.deliveryId),
  };
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly dispatcher: WebhookDispatcher,
    private readonly listeners: DomainEventListeners,
    private readonly config: AppConfig,
    metrics: MetricsService,
  ) {
    super(metrics);
  }

  /** The sweep: at start (a restarted worker takes over what it left at once) and every interval. */
  onModuleInit(): void {
    const sweep = () =>
      this.dispatcher
        .resumeOverdue()
        .catch((err: Error) => this.logger.warn(`resuming overdue deliveries failed: ${err.message}`));
    void sweep();
    this.timer = setInterval(() => void sweep(), this.config.webhooks.sweepIntervalMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
