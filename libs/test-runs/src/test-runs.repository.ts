import { Injectable } from '@nestjs/common';
import {
  Conditions,
  JUnitCase,
  JUnitTotals,
  pageClause,
  PageQueryDto,
  QueueReconciler,
  Sql,
} from '@app/core';
import { PROJECT_ACCESS_COLUMNS, projectAccessJoin, ProjectAccessRow } from '@app/projects';
import { sweepLapsed } from '@app/runner';
import { EntityManager } from 'typeorm';
import { TestRunStatus } from './test-run.entity';
import { TestRunRow } from './test-run.rows';
import { TestCaseDto } from './test-suite.dto';

const RUN_COLUMNS = `r.id, r.suite_id, r.project_id, r.status, r.environment, r.browsers, r.parallel, r.triggered_by,
  r.commit_sha, r.started_at, r.finished_at, r.exit_code, r.error, r.log_tail, r.total, r.passed, r.failed, r.skipped,
  r.errors, r.duration, r.created_at`;

/** Test cases are inserted this many at a time (one statement each). */
const CASES_PER_INSERT = 5000;

/** Queued runs wait for their `test.run` job (keyed by the run's id): the reconciler's rows. */
export const QUEUED_RUNS = QueueReconciler.ownJob('test_runs', 'created_at', 'test.run', (runId) => ({
  runId,
}));
/** Running runs whose worker stopped renewing their lease. */
const LAPSED_RUNS = { table: 'test_runs', running: 'running', limit: 50 };

/** A run as its worker claims it: with its suite's command and where to run it. */
export type ClaimedRun = TestRunRow & {
  repository_url: string | null;
  branch: string | null;
  working_directory: string | null;
  command: string;
  report_path: string;
  timeout_seconds: number;
};

export interface NewTestRun {
  id: string;
  suiteId: string;
  projectId: string;
  environment: string | null;
  browsers: string[];
  parallel: number;
  triggeredBy: string;
}

/** A run's end as its worker records it. */
export interface FinishedRun {
  status: TestRunStatus;
  exitCode: number | null;
  error: string | null;
  logTail: string | null;
  totals: JUnitTotals | undefined;
  commitSha: string | null;
}

/** Every statement on `test_runs` and `test_cases`: the API's and the runner's. */
@Injectable()
export class TestRunsRepository {
  constructor(private readonly sql: Sql) {}

  // ---- the API's --------------------------------------------------------------------------------

  async insertQueued(r: NewTestRun, manager: EntityManager): Promise<TestRunRow> {
    const row = await this.sql.one<TestRunRow>(
      `INSERT INTO test_runs AS r (id, suite_id, project_id, status, environment, browsers, parallel, triggered_by)
         VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7) RETURNING ${RUN_COLUMNS}`,
      [r.id, r.suiteId, r.projectId, r.environment, r.browsers, r.parallel, r.triggeredBy],
      manager,
    );
    return row!;
  }

  /** A page of a suite's runs, optionally of one status. */
  page(
    suiteId: string,
    filter: { status?: TestRunStatus },
    query: PageQueryDto,
  ): Promise<{ rows: TestRunRow[]; total: number }> {
    const where = new Conditions().and((v) => `r.suite_id = ${v(suiteId)}`);
    if (filter.status) where.and((v) => `r.status = ${v(filter.status)}`);
    return this.sql.page<TestRunRow>(
      RUN_COLUMNS,
      'FROM test_runs r',
      where,
      pageClause(query, 'r.created_at', 'r.id'),
    );
  }

  /** The run with `userId`'s access to its project, in one statement. */
  withAccess(runId: string, userId: string): Promise<(TestRunRow & ProjectAccessRow) | undefined> {
    return this.sql.one<TestRunRow & ProjectAccessRow>(
      `SELECT ${RUN_COLUMNS}, ${PROJECT_ACCESS_COLUMNS}
         FROM test_runs r ${projectAccessJoin('r', '$2')}
        WHERE r.id = $1`,
      [runId, userId],
    );
  }

  /** The run's cases in report order (`time` as PostgreSQL's numeric text). */
  cases(runId: string): Promise<Array<TestCaseDto & { time: string }>> {
    return this.sql.rows<TestCaseDto & { time: string }>(
      `SELECT suite, classname, name, time, status, message, details FROM test_cases WHERE run_id = $1 ORDER BY position`,
      [runId],
    );
  }

  // ---- the runner's -----------------------------------------------------------------------------

  /** Takes a queued run for `workerId` with a lease of `leaseSeconds`; undefined when it is not queued. */
  claim(runId: string, workerId: string, leaseSeconds: number): Promise<ClaimedRun | undefined> {
    return this.sql.one<ClaimedRun>(
      `UPDATE test_runs r SET status = 'running', started_at = clock_timestamp(), attempts = attempts + 1,
              locked_by = $2, locked_until = now() + make_interval(secs => $3), updated_at = now()
         FROM test_suites s
        WHERE r.id = $1 AND r.status = 'queued' AND s.id = r.suite_id
        RETURNING ${RUN_COLUMNS}, s.repository_url, s.branch, s.working_directory, s.command, s.report_path,
                  s.timeout_seconds`,
      [runId, workerId, leaseSeconds],
    );
  }

  /** Records the end of a run `workerId` holds and releases it; undefined when it no longer holds it. */
  finish(
    runId: string,
    workerId: string,
    f: FinishedRun,
    manager: EntityManager,
  ): Promise<TestRunRow | undefined> {
    const t = f.totals;
    return this.sql.one<TestRunRow>(
      `UPDATE test_runs r SET status = $2, finished_at = clock_timestamp(), exit_code = $3, error = $4, log_tail = $5,
                total = $6, passed = $7, failed = $8, skipped = $9, errors = $10, duration = $11, commit_sha = $12,
                locked_by = NULL, locked_until = NULL, process_group = NULL, updated_at = now()
          WHERE id = $1 AND locked_by = $13 AND status = 'running' RETURNING ${RUN_COLUMNS}`,
      [
        runId,
        f.status,
        f.exitCode,
        f.error,
        f.logTail,
        t?.total ?? null,
        t?.passed ?? null,
        t?.failed ?? null,
        t?.skipped ?? null,
        t?.errors ?? null,
        t?.duration ?? null,
        f.commitSha,
        workerId,
      ],
      manager,
    );
  }

  /** Stores the run's cases, numbered in report order, CASES_PER_INSERT to a statement. */
  async insertCases(runId: string, cases: JUnitCase[], manager: EntityManager): Promise<void> {
    for (let i = 0; i < cases.length; i += CASES_PER_INSERT) {
      const batch = cases.slice(i, i + CASES_PER_INSERT);
      await this.sql.exec(
        `INSERT INTO test_cases (run_id, position, suite, classname, name, time, status, message, details)
           SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::numeric[], $7::text[], $8::text[], $9::text[])`,
        [
          runId,
          batch.map((_, j) => i + j),
          batch.map((c) => c.suite),
          batch.map((c) => c.classname),
          batch.map((c) => c.name),
          batch.map((c) => c.time),
          batch.map((c) => c.status),
          batch.map((c) => c.message),
          batch.map((c) => c.details),
        ],
        manager,
      );
    }
  }

  /** Extends the lease; false when `workerId` no longer holds the run. */
  async renew(runId: string, workerId: string, leaseSeconds: number): Promise<boolean> {
    const rows = await this.sql.rows(
      `UPDATE test_runs SET locked_until = now() + make_interval(secs => $3)
        WHERE id = $1 AND locked_by = $2 AND status = 'running' RETURNING id`,
      [runId, workerId, leaseSeconds],
    );
    return rows.length > 0;
  }

  /** One pass over running runs whose lease ran out, the longest lapsed first (see sweepLapsed). */
  sweepLapsed(act: (runId: string) => Promise<boolean>): Promise<number> {
    return sweepLapsed(this.sql, LAPSED_RUNS, act);
  }

  /** The run's worker if it still runs on a lapsed lease, locked (skipped when another sweep holds it). */
  lockLapsed(runId: string, manager: EntityManager): Promise<{ locked_by: string | null } | undefined> {
    return this.sql.one<{ locked_by: string | null }>(
      `SELECT locked_by FROM test_runs
          WHERE id = $1 AND status = 'running' AND locked_until < now() FOR UPDATE SKIP LOCKED`,
      [runId],
      manager,
    );
  }

  /** Ends a run whose worker stopped as `error`, and releases it. */
  async expire(runId: string, error: string, manager: EntityManager): Promise<TestRunRow> {
    const row = await this.sql.one<TestRunRow>(
      `UPDATE test_runs r SET status = 'error', finished_at = clock_timestamp(), error = $2, locked_by = NULL,
                locked_until = NULL, process_group = NULL, updated_at = now()
          WHERE id = $1 RETURNING ${RUN_COLUMNS}`,
      [runId, error],
      manager,
    );
    return row!;
  }
}
