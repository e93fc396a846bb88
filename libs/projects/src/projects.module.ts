import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { UsersModule } from '@app/users';
import { ProjectAccessRepository } from './project-access.repository';
import { ProjectAccessService } from './project-access.service';
import { ProjectMemberEntity } from './project-member.entity';
import { ProjectStatsEntity } from './project-stats.entity';
import { ProjectStatsRepository } from './project-stats.repository';
import { ProjectStatsService } from './project-stats.service';
import { ProjectEntity } from './project.entity';
import { ProjectsRepository } from './projects.repository';
import { ProjectsService } from './projects.service';

@Module({
  imports: [TypeOrmModule.forFeature([ProjectEntity, ProjectMemberEntity, ProjectStatsEntity]), UsersModule],
  providers: [
    ProjectsService,
    ProjectsRepository,
    ProjectAccessService,
    ProjectAccessRepository,
    ProjectStatsService,
    ProjectStatsRepository,
  ],
  exports: [ProjectsService, ProjectAccessService, ProjectStatsService],
})
export class ProjectsModule {}
