import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ProjectsModule } from '@app/projects';
import { RunnerModule } from '@app/runner';
import { TestCaseEntity } from './test-case.entity';
import { TestRunEntity } from './test-run.entity';
import { TestRunner } from './test-runner.service';
import { TestRunsRepository } from './test-runs.repository';
import { TestSuiteEntity } from './test-suite.entity';
import { TestSuitesRepository } from './test-suites.repository';
import { TestsService } from './tests.service';

@Module({
  imports: [
    TypeOrmModule.forFeature([TestSuiteEntity, TestRunEntity, TestCaseEntity]),
    ProjectsModule,
    RunnerModule,
  ],
  providers: [TestSuitesRepository, TestRunsRepository, TestsService, TestRunner],
  exports: [TestsService, TestRunner],
})
export class TestsModule {}
