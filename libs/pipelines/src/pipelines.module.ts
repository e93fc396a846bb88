import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ProjectsModule } from '@app/projects';
import { RunnerModule } from '@app/runner';
import { StorageModule } from '@app/storage';
import { BuildLogEventEntity } from './build-log-event.entity';
import { BuildLogRepository } from './build-log.repository';
import { BuildLogService } from './build-log.service';
import { BuildRunner } from './build-runner.service';
import { BuildSlots } from './build-slots';
import { BuildEntity } from './build.entity';
import { BuildsRepository } from './builds.repository';
import { BuildsService } from './builds.service';
import { PipelineEntity } from './pipeline.entity';
import { PipelinesRepository } from './pipelines.repository';
import { PipelinesService } from './pipelines.service';

@Module({
  imports: [
    TypeOrmModule.forFeature([PipelineEntity, BuildEntity, BuildLogEventEntity]),
    ProjectsModule,
    RunnerModule,
    StorageModule,
  ],
  providers: [
    PipelinesRepository,
    BuildsRepository,
    BuildLogRepository,
    PipelinesService,
    BuildsService,
    BuildLogService,
    BuildRunner,
    BuildSlots,
  ],
  exports: [PipelinesService, BuildsService, BuildLogService, BuildRunner],
})
export class PipelinesModule {}
