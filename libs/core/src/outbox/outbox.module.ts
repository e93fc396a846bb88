import { Global, Module } from '@nestjs/common';
import { DomainEventListeners } from './domain-event-listeners';
import { OutboxRelay } from './outbox.relay';
import { OutboxRepository } from './outbox.repository';
import { OutboxService } from './outbox.service';

@Global()
@Module({
  providers: [OutboxRepository, OutboxRelay, OutboxService, DomainEventListeners],
  exports: [OutboxRelay, OutboxService, DomainEventListeners],
})
export class OutboxModule {}
