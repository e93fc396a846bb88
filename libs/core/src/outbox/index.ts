export * from './domain-event-listeners';
export * from './outbox-message.entity';
export * from './outbox.module';
export * from './outbox.relay';
export * from './outbox.service';
