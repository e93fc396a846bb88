import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AgentsModule } from '@app/agents';
import { ChangesModule } from '@app/changes';
import { ProjectsModule } from '@app/projects';
import { TasksModule } from '@app/tasks';
import { UsersModule } from '@app/users';
import { FlowEntity } from './flow.entity';
import { FlowsRepository } from './flows.repository';
import { FlowsService } from './flows.service';

@Module({
  imports: [
    TypeOrmModule.forFeature([FlowEntity]),
    AgentsModule,
    ChangesModule,
    ProjectsModule,
    TasksModule,
    UsersModule,
  ],
  providers: [FlowsRepository, FlowsService],
  exports: [FlowsService],
})
export class FlowsModule {}
