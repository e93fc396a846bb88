import { Module, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { AgentsModule } from '@app/agents';
import { ChangesModule } from '@app/changes';
import { FlowsModule } from '@app/flows';
import { AppConfig, CoreModule, OutboxRelay } from '@app/core';
import { DeploymentsModule } from '@app/deployments';
import { MailModule } from '@app/mail';
import { PipelinesModule } from '@app/pipelines';
import { RunnerModule, Sandbox } from '@app/runner';
import { TestsModule } from '@app/test-runs';
import { WebhooksModule } from '@app/webhooks';
import { OperationsController } from './operations.controller';
import { AgentsProcessor } from './processors/agents.processor';
import { DeploymentsProcessor } from './processors/deployments.processor';
import { BuildsProcessor } from './processors/builds.processor';
import { ChangesProcessor } from './processors/changes.processor';
import { assertHandlersComplete } from './processors/job-processor';
import { MailProcessor } from './processors/mail.processor';
import { TestRunsProcessor } from './processors/test-runs.processor';
import { WebhooksProcessor } from './processors/webhooks.processor';

@Module({
  imports: [
    CoreModule,
    MailModule,
    WebhooksModule,
    AgentsModule,
    DeploymentsModule,
    PipelinesModule,
    TestsModule,
    ChangesModule,
    FlowsModule,
    RunnerModule,
  ],
  controllers: [OperationsController],
  providers: [
    MailProcessor,
    WebhooksProcessor,
    AgentsProcessor,
    DeploymentsProcessor,
    BuildsProcessor,
    TestRunsProcessor,
    ChangesProcessor,
  ],
})
export class WorkerModule implements OnModuleInit, OnApplicationBootstrap {
  constructor(
    private readonly relay: OutboxRelay,
    private readonly config: AppConfig,
    private readonly mail: MailProcessor,
    private readonly webhooks: WebhooksProcessor,
    private readonly agents: AgentsProcessor,
    private readonly deployments: DeploymentsProcessor,
    private readonly builds: BuildsProcessor,
    private readonly testRuns: TestRunsProcessor,
    private readonly changes: ChangesProcessor,
    private readonly sandbox: Sandbox,
  ) {}

  /** A worker that cannot contain users' commands does not start (the error names what to install). */
  async onModuleInit(): Promise<void> {
    await this.sandbox.init();
  }

  onApplicationBootstrap(): void {
    assertHandlersComplete([
      this.mail,
      this.webhooks,
      this.agents,
      this.deployments,
      this.builds,
      this.testRuns,
      this.changes,
    ]);
    this.mail.worker.concurrency = this.config.worker.concurrency;
    // Deliveries wait on other people's servers: many in flight, so one slow receiver delays no one.
    this.webhooks.worker.concurrency = this.config.webhooks.concurrency;
    // An activation spends its time waiting for the model: a worker holds many at once.
    this.agents.worker.concurrency = this.config.agents.concurrency;
    // A deployment holds its slot for its whole plan.
    this.deployments.worker.concurrency = this.config.deployments.concurrency;
    // Builds and test runs are CPU- and disk-heavy commands: a few at once per worker.
    this.builds.worker.concurrency = this.config.builds.concurrency;
    this.testRuns.worker.concurrency = this.config.tests.concurrency;
    // Clones and merges: short git work, a few at once.
    this.changes.worker.concurrency = this.config.builds.concurrency;
    // The sweep that relays outbox rows whose after-commit kick was lost (a gateway crash).
    this.relay.startSweeping();
  }
}
