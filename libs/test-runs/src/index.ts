export * from './test-runner.service';
export * from './test-suite.dto';
export * from './tests.module';
export * from './tests.service';
