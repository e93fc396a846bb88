import { Module, OnApplicationBootstrap } from '@nestjs/common';
import { AgentsModule } from '@app/agents';
import { AppConfig, CoreModule, OutboxRelay } from '@app/core';
import { DeploymentsModule } from '@app/deployments';
import { MailModule } from '@app/mail';
import { WebhooksModule } from '@app/webhooks';
import { OperationsController } from './operations.controller';
import { AgentsProcessor } from './processors/agents.processor';
import { DeploymentsProcessor } from './processors/deployments.processor';
import { assertHandlersComplete } from './processors/job-processor';
import { MailProcessor } from './processors/mail.processor';
import { WebhooksProcessor } from './processors/webhooks.processor';

@Module({
  imports: [CoreModule, MailModule, WebhooksModule, AgentsModule, DeploymentsModule],
  controllers: [OperationsController],
  providers: [MailProcessor, WebhooksProcessor, AgentsProcessor, DeploymentsProcessor],
})
export class WorkerModule implements OnApplicationBootstrap {
  constructor(
    private readonly relay: OutboxRelay,
    private readonly config: AppConfig,
    private readonly mail: MailProcessor,
    private readonly webhooks: WebhooksProcessor,
    private readonly agents: AgentsProcessor,
    private readonly deployments: DeploymentsProcessor,
  ) {}

  onApplicationBootstrap(): void {
    assertHandlersComplete([this.mail, this.webhooks, this.agents, this.deployments]);
    this.mail.worker.concurrency = this.config.worker.concurrency;
    // Deliveries wait on other people's servers: many in flight, so one slow receiver delays no one.
    this.webhooks.worker.concurrency = this.config.webhooks.concurrency;
    // An activation spends its time waiting for the model: a worker holds many at once.
    this.agents.worker.concurrency = this.config.agents.concurrency;
    // A deployment holds its slot for its whole plan.
    this.deployments.worker.concurrency = this.config.deployments.concurrency;
    // The sweep that relays outbox rows whose after-commit kick was lost (a gateway crash).
    this.relay.startSweeping();
  }
}
