import { Processor } from '@nestjs/bullmq';
import { OnModuleInit } from '@nestjs/common';
import { MetricsService, QueueName } from '@app/core';
import { BuildRunner } from '@app/pipelines';
import { JobHandlers, JobProcessor } from './job-processor';

/**
 * Builds run for minutes: BullMQ renews the job's lock while it runs, and the build's own lease
 * in PostgreSQL (renewed by BuildRunner, swept by every worker) decides what happens when a worker
 * dies; a job BullMQ hands out again after a stall finds its build taken and does nothing.
 */
@Processor(QueueName.Builds)
export class BuildsProcessor extends JobProcessor<QueueName.Builds> implements OnModuleInit {
  readonly queue = QueueName.Builds;
  protected readonly handlers: JobHandlers<QueueName.Builds> = {
    'build.run': (data) => this.runner.run(data.buildId),
  };

  constructor(
    private readonly runner: BuildRunner,
    metrics: MetricsService,
  ) {
    super(metrics);
  }

  async onModuleInit(): Promise<void> {
    await this.runner.start();
  }
}
