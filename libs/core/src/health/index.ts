export * from './health.indicators';
