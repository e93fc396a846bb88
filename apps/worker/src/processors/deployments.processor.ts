import { Processor } from '@nestjs/bullmq';
import { OnModuleInit } from '@nestjs/common';
import { MetricsService, QueueName } from '@app/core';
import { DeploymentRunner } from '@app/deployments';
import { JobHandlers, JobProcessor } from './job-processor';

@Processor(QueueName.Deployments)
export class DeploymentsProcessor extends JobProcessor<QueueName.Deployments> implements OnModuleInit {
  readonly queue = QueueName.Deployments;
  protected readonly handlers: JobHandlers<QueueName.Deployments> = {
    'deployment.start': (data) => this.runner.start(data.applicationId, data.environment),
    'deployment.resume': (data) => this.runner.resume(data.deploymentId),
  };

  constructor(
    private readonly runner: DeploymentRunner,
    metrics: MetricsService,
  ) {
    super(metrics);
  }

  /** The sweep that resumes deployments of lost workers and starts queued ones whose start was lost. */
  onModuleInit(): void {
    this.runner.startSweeping();
  }
}
