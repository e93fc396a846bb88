import { Processor } from '@nestjs/bullmq';
import { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { AppConfig, MetricsService, QueueName } from '@app/core';
import { DeploymentRunner } from '@app/deployments';
import { JobHandlers, JobProcessor } from './job-processor';

@Processor(QueueName.Deployments)
export class DeploymentsProcessor
  extends JobProcessor<QueueName.Deployments>
  implements OnModuleInit, OnModuleDestroy
{
  readonly queue = QueueName.Deployments;
  protected readonly handlers: JobHandlers<QueueName.Deployments> = {
    'deployment.start': (data) => this.runner.start(data.applicationId, data.environment),
    'deployment.resume': (data) => this.runner.resume(data.deploymentId),
  };
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly runner: DeploymentRunner,
    private readonly config: AppConfig,
    metrics: MetricsService,
  ) {
    super(metrics);
  }

  /** The sweep that resumes deployments of lost workers and starts queued ones whose start was lost. */
  onModuleInit(): void {
    this.timer = setInterval(() => {
      this.runner.sweep().catch((err: Error) => this.logger.warn(`deployment sweep failed: ${err.message}`));
    }, this.config.deployments.sweepIntervalMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
