import { Injectable } from '@nestjs/common';
import { Conditions, pageClause, PageQueryDto, Sql } from '@app/core';
import { PROJECT_ACCESS_COLUMNS, projectAccessJoin, ProjectAccessRow } from '@app/projects';
import { EntityManager } from 'typeorm';
import { TestSuiteRow } from './test-suite.rows';

const SUITE_COLUMNS = `s.id, s.project_id, s.name, s.description, s.repository_url, s.branch, s.working_directory,
  s.command, s.report_path, s.timeout_seconds, s.created_by, s.created_at, s.updated_at`;

export interface NewTestSuite {
  id: string;
  projectId: string;
  name: string;
  description: string | null;
  repositoryUrl: string | null;
  branch: string | null;
  workingDirectory: string | null;
  command: string;
  reportPath: string;
  timeoutSeconds: number;
  createdBy: string;
}

/** Every statement on `test_suites`. */
@Injectable()
export class TestSuitesRepository {
  constructor(private readonly sql: Sql) {}

  async insert(s: NewTestSuite, manager: EntityManager): Promise<TestSuiteRow> {
    const row = await this.sql.one<TestSuiteRow>(
      `INSERT INTO test_suites AS s (id, project_id, name, description, repository_url, branch, working_directory,
                                         command, report_path, timeout_seconds, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING ${SUITE_COLUMNS}`,
      [
        s.id,
        s.projectId,
        s.name,
        s.description,
        s.repositoryUrl,
        s.branch,
        s.workingDirectory,
        s.command,
        s.reportPath,
        s.timeoutSeconds,
        s.createdBy,
      ],
      manager,
    );
    return row!;
  }

  /** A page of the suites `visible` lets through, optionally of one project. */
  page(
    visible: Conditions,
    filter: { projectId?: string },
    query: PageQueryDto,
  ): Promise<{ rows: TestSuiteRow[]; total: number }> {
    const where = visible;
    if (filter.projectId) where.and((v) => `s.project_id = ${v(filter.projectId)}`);
    return this.sql.page<TestSuiteRow>(
      SUITE_COLUMNS,
      'FROM test_suites s JOIN projects p ON p.id = s.project_id',
      where,
      pageClause(query, 's.created_at', 's.id'),
    );
  }

  /**
   * The suite with `userId`'s access to its project, in one statement; inside a transaction
   * (`manager`) the row is locked FOR SHARE, so it stays as read while a run is queued.
   */
  withAccess(
    suiteId: string,
    userId: string,
    manager?: EntityManager,
  ): Promise<(TestSuiteRow & ProjectAccessRow) | undefined> {
    return this.sql.one<TestSuiteRow & ProjectAccessRow>(
      `SELECT ${SUITE_COLUMNS}, ${PROJECT_ACCESS_COLUMNS}
        FROM test_suites s ${projectAccessJoin('s', '$2')}
       WHERE s.id = $1${manager ? ' FOR SHARE OF s' : ''}`,
      [suiteId, userId],
      manager,
    );
  }
}
