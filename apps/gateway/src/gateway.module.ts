import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AgentsModule } from '@app/agents';
import { AccessGuard, AuthModule } from '@app/auth';
import { ChangesModule } from '@app/changes';
import { FlowsModule } from '@app/flows';
import { CoreModule } from '@app/core';
import { DeploymentsModule } from '@app/deployments';
import { PipelinesModule } from '@app/pipelines';
import { ProjectsModule } from '@app/projects';
import { RATE_LIMIT_GUARD, RateLimitModule } from '@app/ratelimit';
import { TasksModule } from '@app/tasks';
import { TestsModule } from '@app/test-runs';
import { UsersModule } from '@app/users';
import { WebhooksModule } from '@app/webhooks';
import { AgentsController } from './controllers/agents.controller';
import { ApiClientsController } from './controllers/api-clients.controller';
import { ApplicationsController } from './controllers/applications.controller';
import { AuditLogsController } from './controllers/audit-logs.controller';
import { AuthController } from './controllers/auth.controller';
import { DocumentsController } from './controllers/documents.controller';
import { UsageController } from './controllers/usage.controller';
import { DeploymentsController } from './controllers/deployments.controller';
import { BuildsController } from './controllers/builds.controller';
import { ChangesController } from './controllers/changes.controller';
import { FlowsController } from './controllers/flows.controller';
import { OperationsController } from './controllers/operations.controller';
import { PipelinesController } from './controllers/pipelines.controller';
import { ProjectsController } from './controllers/projects.controller';
import { RateLimitController } from './controllers/rate-limit.controller';
import { TasksController } from './controllers/tasks.controller';
import { TestsController } from './controllers/tests.controller';
import { UsersController } from './controllers/users.controller';
import { WebhooksController } from './controllers/webhooks.controller';

@Module({
  imports: [
    CoreModule,
    AuthModule,
    UsersModule,
    ProjectsModule,
    TasksModule,
    WebhooksModule,
    AgentsModule,
    DeploymentsModule,
    PipelinesModule,
    TestsModule,
    ChangesModule,
    FlowsModule,
    RateLimitModule,
  ],
  controllers: [
    AuthController,
    ApiClientsController,
    UsersController,
    AuditLogsController,
    ProjectsController,
    TasksController,
    WebhooksController,
    AgentsController,
    DocumentsController,
    UsageController,
    ApplicationsController,
    DeploymentsController,
    PipelinesController,
    BuildsController,
    TestsController,
    ChangesController,
    FlowsController,
    RateLimitController,
    OperationsController,
  ],
  // Global guards run in this order: the rate limiter needs the caller the AccessGuard found.
  providers: [{ provide: APP_GUARD, useExisting: AccessGuard }, RATE_LIMIT_GUARD],
})
export class GatewayModule {}
