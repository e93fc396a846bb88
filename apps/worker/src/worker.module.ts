import { Module, OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig, CoreModule, OutboxRelay } from '@app/core';
import { MailModule } from '@app/mail';
import { OperationsController } from './operations.controller';
import { assertHandlersComplete } from './processors/job-processor';
import { MailProcessor } from './processors/mail.processor';

@Module({
  imports: [CoreModule, MailModule],
  controllers: [OperationsController],
  providers: [MailProcessor],
})
export class WorkerModule implements OnApplicationBootstrap {
  constructor(
    private readonly relay: OutboxRelay,
    private readonly config: AppConfig,
    private readonly mail: MailProcessor,
  ) {}

  onApplicationBootstrap(): void {
    const processors = [this.mail];
    assertHandlersComplete(processors);
    for (const p of processors) p.worker.concurrency = this.config.worker.concurrency;
    // The sweep that relays outbox rows whose after-commit kick was lost (a gateway crash).
    this.relay.startSweeping();
  }
}
