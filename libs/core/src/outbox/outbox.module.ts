import { Global, Module } from '@nestjs/common';
import { OutboxRelay } from './outbox.relay';
import { OutboxRepository } from './outbox.repository';
import { OutboxService } from './outbox.service';

@Global()
@Module({ providers: [OutboxRepository, OutboxRelay, OutboxService], exports: [OutboxRelay, OutboxService] })
export class OutboxModule {}
