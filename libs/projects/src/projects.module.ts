import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { UsersModule } from '@app/users';
import { ProjectAccessService } from './project-access.service';
import { ProjectMemberEntity } from './project-member.entity';
import { ProjectStatsEntity } from './project-stats.entity';
import { ProjectStatsService } from './project-stats.service';
import { ProjectEntity } from './project.entity';
import { ProjectsService } from './projects.service';

@Module({
  imports: [TypeOrmModule.forFeature([ProjectEntity, ProjectMemberEntity, ProjectStatsEntity]), UsersModule],
  providers: [ProjectsService, ProjectAccessService, ProjectStatsService],
  exports: [ProjectsService, ProjectAccessService, ProjectStatsService],
})
export class ProjectsModule {}
