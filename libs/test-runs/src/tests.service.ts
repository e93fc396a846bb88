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
  pageClause,
  pageOf,
  Permission,
  Principal,
  Sql,
  Tx,
  UnitOfWork,
  uniqueViolation,
} from '@app/core';
import {
  accessOf,
  PROJECT_ACCESS_COLUMNS,
  ProjectAccess,
  projectAccessJoin,
  ProjectAccessRow,
  ProjectAccessService,
} from '@app/projects';
import { FINISHED_RUN_STATUSES } from './test-run.entity';
import {
  CreateTestSuiteDto,
  ListTestRunsQueryDto,
  ListTestSuitesQueryDto,
  mapRunRow,
  mapSuiteRow,
  reportPathOf,
  RUN_COLUMNS,
  runSummary,
  RunTestSuiteDto,
  SUITE_COLUMNS,
  TestCaseDto,
  TestReportDto,
  TestRunAcceptedDto,
  TestRunDto,
  TestRunRow,
  TestSuiteDto,
  TestSuiteRow,
} from './test-suite.dto';
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
    private readonly sql: Sql,
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
        const [row]: TestSuiteRow[] = await tx.manager.query(
          `INSERT INTO test_suites AS s (id, project_id, name, description, repository_url, branch, working_directory,
                                         command, report_path, timeout_seconds, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING ${SUITE_COLUMNS}`,
          [
            newId('suite'),
            project.id,
            dto.name,
            dto.description ?? null,
            dto.repositoryUrl ?? null,
            dto.branch ?? null,
            dto.workingDirectory ?? null,
            dto.command,
            dto.reportPath,
            dto.timeoutSeconds ?? this.config.tests.defaultTimeoutSeconds,
            actor.userId,
          ],
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
    const where = this.access.restrictToVisible(new Conditions(), actor);
    if (query.projectId) where.and((v) => `s.project_id = ${v(query.projectId)}`);
    const { rows, total } = await this.sql.page<TestSuiteRow>(
      SUITE_COLUMNS,
      'FROM test_suites s JOIN projects p ON p.id = s.project_id',
      where,
      pageClause(query, 's.created_at', 's.id'),
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
      const [run]: TestRunRow[] = await tx.manager.query(
        `INSERT INTO test_runs AS r (id, suite_id, project_id, status, environment, browsers, parallel, triggered_by)
         VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7) RETURNING ${RUN_COLUMNS}`,
        [
          newId('run'),
          suite.id,
          suite.project_id,
          dto.environment ?? null,
          dto.browsers ?? ['chromium'],
          dto.parallel ?? 4,
          actor.userId,
        ],
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
    const where = new Conditions().and((v) => `r.suite_id = ${v(suite.id)}`);
    if (query.status) where.and((v) => `r.status = ${v(query.status)}`);
    const { rows, total } = await this.sql.page<TestRunRow>(
      RUN_COLUMNS,
      'FROM test_runs r',
      where,
      pageClause(query, 'r.created_at', 'r.id'),
    );
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
    const cases = await this.sql.rows<TestCaseDto & { time: string }>(
      `SELECT suite, classname, name, time, status, message, details FROM test_cases WHERE run_id = $1 ORDER BY position`,
      [run.id],
    );
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
    const text = `SELECT ${SUITE_COLUMNS}, ${PROJECT_ACCESS_COLUMNS}
        FROM test_suites s ${projectAccessJoin('s', '$2')}
       WHERE s.id = $1${tx ? ' FOR SHARE OF s' : ''}`;
    const values = [suiteId, actor.userId];
    const rows: Array<TestSuiteRow & ProjectAccessRow> = tx
      ? await tx.manager.query(text, values)
      : await this.sql.rows(text, values);
    const r = rows[0];
    const access = r ? accessOf(r.project_id, r) : null;
    if (!r || !access || !this.access.canSee(actor, access)) throw AppError.notFound('test suite', suiteId);
    return { row: r, access };
  }

  private async runVisible(actor: Principal, runId: string): Promise<TestRunRow> {
    const rows = await this.sql.rows<TestRunRow & ProjectAccessRow>(
      `SELECT ${RUN_COLUMNS}, ${PROJECT_ACCESS_COLUMNS}
         FROM test_runs r ${projectAccessJoin('r', '$2')}
        WHERE r.id = $1`,
      [runId, actor.userId],
    );
    const r = rows[0];
    if (!r || !this.access.canSee(actor, accessOf(r.project_id, r)))
      throw AppError.notFound('test run', runId);
    return r;
  }
}
