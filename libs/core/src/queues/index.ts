export * from './job-catalogue';
export * from './job-ids';
export * from './queue.module';
export * from './queue.registry';
export * from './queue-reconciler';
