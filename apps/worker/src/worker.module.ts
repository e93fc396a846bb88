import { Module, OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig, CoreModule, OutboxRelay } from '@app/core';
import { MailModule } from '@app/mail';
import { PipelinesModule } from '@app/pipelines';
import { TestsModule } from '@app/testing';
import { WebhooksModule } from '@app/webhooks';
import { OperationsController } from './operations.controller';
import { BuildsProcessor } from './processors/builds.processor';
import { assertHandlersComplete } from './processors/job-processor';
import { MailProcessor } from './processors/mail.processor';
import { TestRunsProcessor } from './processors/test-runs.processor';
import { WebhooksProcessor } from './processors/webhooks.processor';

@Module({
  imports: [CoreModule, MailModule, WebhooksModule, PipelinesModule, TestsModule],
  controllers: [OperationsController],
  providers: [MailProcessor, WebhooksProcessor, BuildsProcessor, TestRunsProcessor],
})
export class WorkerModule implements OnApplicationBootstrap {
  constructor(
    private readonly relay: OutboxRelay,
    private readonly config: AppConfig,
    private readonly mail: MailProcessor,
    private readonly webhooks: WebhooksProcessor,
    private readonly builds: BuildsProcessor,
    private readonly testRuns: TestRunsProcessor,
  ) {}

  onApplicationBootstrap(): void {
    assertHandlersComplete([this.mail, this.webhooks, this.builds, this.testRuns]);
    this.mail.worker.concurrency = this.config.worker.concurrency;
    // Deliveries wait on other people's servers: many in flight, so one slow receiver delays no one.
    this.webhooks.worker.concurrency = this.config.webhooks.concurrency;
    // Builds and test runs are CPU- and disk-heavy commands: a few at once per worker.
    this.builds.worker.concurrency = this.config.builds.concurrency;
    this.testRuns.worker.concurrency = this.config.tests.concurrency;
    // The sweep that relays outbox rows whose after-commit kick was lost (a gateway crash).
    this.relay.startSweeping();
  }
}
