export * from './junit-parser';
