import { iso, JUnitTotals, secondsBetween } from '@app/core';
import { TestRunStatus } from './test-run.entity';
import { reportPathOf, TestRunDto } from './test-suite.dto';

/** A test run row as TestRunsRepository's SQL returns it. */
export interface TestRunRow {
  id: string;
  suite_id: string;
  project_id: string;
  status: TestRunStatus;
  environment: string | null;
  browsers: string[];
  parallel: number;
  triggered_by: string | null;
  commit_sha: string | null;
  started_at: Date | null;
  finished_at: Date | null;
  exit_code: number | null;
  error: string | null;
  log_tail: string | null;
  total: number | null;
  passed: number | null;
  failed: number | null;
  skipped: number | null;
  errors: number | null;
  duration: string | null;
  created_at: Date;
}

export function runSummary(r: TestRunRow): JUnitTotals | null {
  if (r.total === null) return null;
  return {
    total: r.total,
    passed: r.passed ?? 0,
    failed: r.failed ?? 0,
    skipped: r.skipped ?? 0,
    errors: r.errors ?? 0,
    duration: Number(r.duration ?? 0),
  };
}

export function mapRunRow(r: TestRunRow): TestRunDto {
  return {
    runId: r.id,
    suiteId: r.suite_id,
    projectId: r.project_id,
    status: r.status,
    environment: r.environment,
    browsers: r.browsers,
    parallel: r.parallel,
    triggeredBy: r.triggered_by,
    triggeredAt: iso(r.created_at),
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
    duration: secondsBetween(r.started_at, r.finished_at),
    exitCode: r.exit_code,
    commit: r.commit_sha,
    summary: runSummary(r),
    error: r.error,
    logTail: r.log_tail,
    reportUrl: reportPathOf(r.id),
  };
}
