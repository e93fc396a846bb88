import { iso, redactUrl } from '@app/core';
import type { TestSuiteDto } from './test-suite.dto';

/** A test suite row as TestSuitesRepository's SQL returns it. */
export interface TestSuiteRow {
  id: string;
  project_id: string;
  name: string;
  description: string | null;
  repository_url: string | null;
  branch: string | null;
  working_directory: string | null;
  command: string;
  report_path: string;
  timeout_seconds: number;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

export function mapSuiteRow(r: TestSuiteRow): TestSuiteDto {
  return {
    id: r.id,
    projectId: r.project_id,
    name: r.name,
    description: r.description,
    repositoryUrl: r.repository_url ? redactUrl(r.repository_url) : null,
    branch: r.branch,
    workingDirectory: r.working_directory,
    command: r.command,
    reportPath: r.report_path,
    timeoutSeconds: r.timeout_seconds,
    createdBy: r.created_by,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}
