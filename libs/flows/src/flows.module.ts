import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AgentsModule } from '@app/agents';
import { ChangesModule } from '@app/changes';
import { DeploymentsModule } from '@app/deployments';
import { ProjectsModule } from '@app/projects';
import { TasksModule } from '@app/tasks';
import { UsersModule } from '@app/users';
import { FlowEntity, FlowEventEntity } from './flow.entity';
import { FlowEngine } from './flow-engine.service';
import { FlowEvents } from './flow-events.service';
import { FlowsRepository } from './flows.repository';
import { FlowsService } from './flows.service';

@Module({
  imports: [
    TypeOrmModule.forFeature([FlowEntity, FlowEventEntity]),
    AgentsModule,
    ChangesModule,
    DeploymentsModule,
    ProjectsModule,
    TasksModule,
    UsersModule,
  ],
  providers: [FlowsRepository, FlowsService, FlowEngine, FlowEvents],
  exports: [FlowsService, FlowEngine],
})
export class FlowsModule {}
