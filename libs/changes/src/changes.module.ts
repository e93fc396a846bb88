import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ProjectsModule } from '@app/projects';
import { RunnerModule } from '@app/runner';
import { ChangeEntity } from './change.entity';
import { ChangesRepository } from './changes.repository';
import { ChangesService } from './changes.service';

@Module({
  imports: [TypeOrmModule.forFeature([ChangeEntity]), ProjectsModule, RunnerModule],
  providers: [ChangesRepository, ChangesService],
  exports: [ChangesService],
})
export class ChangesModule {}
