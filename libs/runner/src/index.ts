export * from './artifacts';
export * from './git-checkout';
export * from './glob';
export * from './lease/job-leases';
export * from './lease/lapsed-leases.repository';
export * from './runner.module';
export * from './sandbox/sandbox';
export * from './workspace';
