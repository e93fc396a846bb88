export * from './application.dto';
export * from './applications.service';
export * from './deployment-runner.service';
export * from './deployment.dto';
export * from './deployments.module';
export * from './deployments.service';
export { ENVIRONMENTS } from './deployment-plan';
