import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ProjectsModule } from '@app/projects';
import { RunnerModule } from '@app/runner';
import { TestCaseEntity } from './test-case.entity';
import { TestRunEntity } from './test-run.entity';
import { TestRunner } from './test-runner.service';
import { TestSuiteEntity } from './test-suite.entity';
import { TestsService } from './tests.service';

@Module({
  imports: [
    TypeOrmModule.forFeature([TestSuiteEntity, TestRunEntity, TestCaseEntity]),
    ProjectsModule,
    RunnerModule,
  ],
  providers: [TestsService, TestRunner],
  exports: [TestsService, TestRunner],
})
export class TestsModule {}
