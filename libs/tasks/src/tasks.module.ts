import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ProjectsModule } from '@app/projects';
import { TaskCounterEntity, TaskStatusCountEntity } from './task-counters.entity';
import { TaskHistoryEntity } from './task-history.entity';
import { TaskEntity } from './task.entity';
import { TasksRepository } from './tasks.repository';
import { TasksService } from './tasks.service';

@Module({
  imports: [
    TypeOrmModule.forFeature([TaskEntity, TaskHistoryEntity, TaskCounterEntity, TaskStatusCountEntity]),
    ProjectsModule,
  ],
  providers: [TasksService, TasksRepository],
  exports: [TasksService],
})
export class TasksModule {}
