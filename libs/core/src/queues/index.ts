export * from './job-catalogue';
export * from './queue.module';
export * from './queue.registry';
