export * from './rate-limit-hooks';
export * from './rate-limit-outcome';
export * from './rate-limit.decorators';
export * from './rate-limit.dto';
export * from './rate-limit.module';
export * from './rate-limiter';
