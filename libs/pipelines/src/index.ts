export * from './build-log.service';
export * from './build-runner.service';
export * from './build.dto';
export * from './builds.service';
export * from './pipeline.dto';
export * from './pipelines.module';
export * from './pipelines.service';
export * from './secret-masker';
