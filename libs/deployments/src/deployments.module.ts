import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { RunnerModule } from '@app/runner';
import { ProjectsModule } from '@app/projects';
import { UsersModule } from '@app/users';
import { ApplicationEnvironmentEntity } from './application-environment.entity';
import { ApplicationEntity } from './application.entity';
import { ApplicationsRepository } from './applications.repository';
import { ApplicationsService } from './applications.service';
import { DeploymentApprovalEntity } from './deployment-approval.entity';
import { DeploymentRunner } from './deployment-runner.service';
import { DeploymentStepEntity } from './deployment-step.entity';
import { DeploymentEntity } from './deployment.entity';
import { DeploymentsRepository } from './deployments.repository';
import { DeploymentsService } from './deployments.service';
import { DEPLOY_TARGETS, DeployTarget } from './targets/deploy-target';
import { DeployTargets } from './targets/deploy-targets';
import { ScriptTarget } from './targets/script-target';
import { WebhookTarget } from './targets/webhook-target';

/** The kinds of deploy target; a new kind is one more class here. */
const TARGET_KINDS = [ScriptTarget, WebhookTarget];

@Module({
  imports: [
    TypeOrmModule.forFeature([
      ApplicationEntity,
      ApplicationEnvironmentEntity,
      DeploymentEntity,
      DeploymentStepEntity,
      DeploymentApprovalEntity,
    ]),
    ProjectsModule,
    UsersModule,
    RunnerModule,
  ],
  providers: [
    ...TARGET_KINDS,
    { provide: DEPLOY_TARGETS, useFactory: (...kinds: DeployTarget[]) => kinds, inject: TARGET_KINDS },
    DeployTargets,
    ApplicationsRepository,
    DeploymentsRepository,
    ApplicationsService,
    DeploymentsService,
    DeploymentRunner,
  ],
  exports: [ApplicationsService, DeploymentsService, DeploymentRunner, DeployTargets],
})
export class DeploymentsModule {}
