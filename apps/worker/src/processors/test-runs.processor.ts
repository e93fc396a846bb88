import { Processor } from '@nestjs/bullmq';
import { OnModuleInit } from '@nestjs/common';
import { MetricsService, QueueName } from '@app/core';
import { TestRunner } from '@app/test-runs';
import { JobHandlers, JobProcessor } from './job-processor';

@Processor(QueueName.TestRuns)
export class TestRunsProcessor extends JobProcessor<QueueName.TestRuns> implements OnModuleInit {
  readonly queue = QueueName.TestRuns;
  protected readonly handlers: JobHandlers<QueueName.TestRuns> = {
    'test.run': (data) => this.runner.run(data.runId),
  };

  constructor(
    private readonly runner: TestRunner,
    metrics: MetricsService,
  ) {
    super(metrics);
  }

  onModuleInit(): void {
    this.runner.start();
  }
}
