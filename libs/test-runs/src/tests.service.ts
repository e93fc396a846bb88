import { Injectable } from '@nestjs/common';
import {
  AppConfig,
  AppError,
  Conditions,
  FieldError,
  iso,
  newId,
  OutboxService,
  Page,
  pageOf,
  Permission,
  Principal,
  Tx,
  UnitOfWork,
  uniqueViolation,
} from '@app/core';
import { accessOf, ProjectAccess, ProjectAccessService } from '@app/projects';
import { FINISHED_RUN_STATUSES } from './test-run.entity';
import { mapRunRow, runSummary, TestRunRow } from './test-run.rows';
import { TestRunsRepository } from './test-runs.repository';
import {
  CreateTestSuiteDto,
  ListTestRunsQueryDto,
  ListTestSuitesQueryDto,
  reportPathOf,
  RunTestSuiteDto,
  TestReportDto,
  TestRunAcceptedDto,
  TestRunDto,
  TestSuiteDto,
} from './test-suite.dto';
import { mapSuiteRow, TestSuiteRow } from './test-suite.rows';
import { TestSuitesRepository } from './test-suites.repository';
import { reportPathProblem, workingDirectoryProblem } from './working-directory';

/**
 * Test suites and their runs, as the API serves them. Suites run commands on the workers, so
 * only roles with tests:write (developer, tester, admin) define and run them, as members of the
 * project. The worker side is TestRunner.
 */
@Injectable()
export class TestsService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly suites: TestSuitesRepository,
    private readonly runs: TestRunsRepository,
    private readonly access: ProjectAccessService,
    private readonly outbox: OutboxService,
    private readonly config: AppConfig,
  ) {}

  async createSuite(actor: Principal, dto: CreateTestSuiteDto): Promise<TestSuiteDto> {
    const fields: FieldError[] = [];
    if (!dto.repositoryUrl === !dto.workingDirectory)
      fields.push({
        field: 'repositoryUrl',
        message: 'give either repositoryUrl or workingDirectory',
        code: 'one_of',
      });
    if (dto.branch && !dto.repositoryUrl)
      fields.push({
        field: 'branch',
        message: 'branch goes with repositoryUrl',
        code: 'requires_repository',
      });
    if (dto.workingDirectory) {
      const problem = workingDirectoryProblem(dto.workingDirectory, this.config.tests.workingDirectoryRoots);
      if (problem) fields.push({ field: 'workingDirectory', message: problem, code: 'outside_roots' });
    }
    const reportProblem = reportPathProblem(dto.reportPath);
    if (reportProblem) fields.push({ field: 'reportPath', message: reportProblem, code: 'invalid_path' });
    if (fields.length) throw AppError.validation(fields);
    return this.uow.run(async (tx) => {
      const { project } = await this.access.writable(actor, dto.projectId, Permission.TestsWrite, tx.manager);
      try {
        const row = await this.suites.insert(
          {
            id: newId('suite'),
            projectId: project.id,
            name: dto.name,
            description: dto.description ?? null,
            repositoryUrl: dto.repositoryUrl ?? null,
            branch: dto.branch ?? null,
            workingDirectory: dto.workingDirectory ?? null,
            command: dto.command,
            reportPath: dto.reportPath,
            timeoutSeconds: dto.timeoutSeconds ?? this.config.tests.defaultTimeoutSeconds,
            createdBy: actor.userId,
          },
          tx.manager,
        );
        return mapSuiteRow(row);
      } catch (err) {
        if (uniqueViolation(err) !== null)
          throw AppError.conflict(`A test suite named "${dto.name}" already exists in this project`, {
            name: dto.name,
          });
        throw err;
      }
    });
  }

  async listSuites(actor: Principal, query: ListTestSuitesQueryDto): Promise<Page<TestSuiteDto>> {
    const { rows, total } = await this.suites.page(
      this.access.restrictToVisible(new Conditions(), actor),
      { projectId: query.projectId },
      query,
    );
    return pageOf(rows.map(mapSuiteRow), total, query);
  }

  async getSuite(actor: Principal, suiteId: string): Promise<TestSuiteDto> {
    return mapSuiteRow((await this.suiteVisible(null, actor, suiteId)).row);
  }

  async run(actor: Principal, suiteId: string, dto: RunTestSuiteDto): Promise<TestRunAcceptedDto> {
    return this.uow.run(async (tx) => {
      const { row: suite, access } = await this.suiteVisible(tx, actor, suiteId);
      this.access.assertCanChange(actor, access, Permission.TestsWrite);
      const run = await this.runs.insertQueued(
        {
          id: newId('run'),
          suiteId: suite.id,
          projectId: suite.project_id,
          environment: dto.environment ?? null,
          browsers: dto.browsers ?? ['chromium'],
          parallel: dto.parallel ?? 4,
          triggeredBy: actor.userId,
        },
        tx.manager,
      );
      await this.outbox.enqueue(tx, 'test.run', { runId: run.id }, { key: run.id });
      return {
        runId: run.id,
        suiteId: suite.id,
        status: run.status,
        environment: run.environment,
        browsers: run.browsers,
        parallel: run.parallel,
        triggeredBy: actor.userId,
        triggeredAt: iso(run.created_at),
        reportUrl: reportPathOf(run.id),
      };
    });
  }

  async listRuns(actor: Principal, suiteId: string, query: ListTestRunsQueryDto): Promise<Page<TestRunDto>> {
    const { row: suite } = await this.suiteVisible(null, actor, suiteId);
    const { rows, total } = await this.runs.page(suite.id, { status: query.status }, query);
    return pageOf(rows.map(mapRunRow), total, query);
  }

  async getRun(actor: Principal, runId: string): Promise<TestRunDto> {
    return mapRunRow(await this.runVisible(actor, runId));
  }

  /** The report of a finished run: totals and every case. 409 while the run is queued or running. */
  async report(actor: Principal, runId: string): Promise<TestReportDto> {
    const run = await this.runVisible(actor, runId);
    if (!FINISHED_RUN_STATUSES.includes(run.status))
      throw AppError.conflict(`The run is ${run.status}; its report is ready when it ends`, {
        status: run.status,
        runId,
      });
    const cases = await this.runs.cases(run.id);
    return {
      runId: run.id,
      suiteId: run.suite_id,
      status: run.status,
      environment: run.environment,
      browsers: run.browsers,
      summary: runSummary(run),
      cases: cases.map((c) => ({ ...c, time: Number(c.time) })),
      error: run.error,
      logTail: run.log_tail,
      finishedAt: iso(run.finished_at),
    };
  }

  // ---- helpers --------------------------------------------------------------------------------

  private async suiteVisible(
    tx: Tx | null,
    actor: Principal,
    suiteId: string,
  ): Promise<{ row: TestSuiteRow; access: ProjectAccess }> {
    const r = await this.suites.withAccess(suiteId, actor.userId, tx?.manager);
    const access = r ? accessOf(r.project_id, r) : null;
    if (!r || !access || !this.access.canSee(actor, access)) throw AppError.notFound('test suite', suiteId);
    return { row: r, access };
  }

  private async runVisible(actor: Principal, runId: string): Promise<TestRunRow> {
    const r = await this.runs.withAccess(runId, actor.userId);
    if (!r || !this.access.canSee(actor, accessOf(r.project_id, r)))
      throw AppError.notFound('test run', runId);
    return r;
  }
}
