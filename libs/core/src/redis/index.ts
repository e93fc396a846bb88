export * from './live-events';
export * from './redis-options';
export * from './redis.module';
export * from './redis.service';
export * from './follow-record';
