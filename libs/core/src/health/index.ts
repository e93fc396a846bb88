export * from './health.indicators';
export * from './health.controller-base';
