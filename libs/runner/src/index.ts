export * from './artifacts';
export * from './git-checkout';
export * from './glob';
export * from './process-runner';
export * from './runner.module';
export * from './sandbox/bwrap-args';
export * from './sandbox/sandbox';
export * from './workspace';
