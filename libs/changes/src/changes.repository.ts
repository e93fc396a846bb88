import { Injectable } from '@nestjs/common';
import { Conditions, iso, pageClause, PageQueryDto, Sql } from '@app/core';
import { PROJECT_ACCESS_COLUMNS, projectAccessJoin, ProjectAccessRow } from '@app/projects';
import { EntityManager } from 'typeorm';
import { ChangeDto } from './change.dto';
import { ChangeCommit, ChangeStatus, DiffStat } from './change.entity';

/** A change row with its head's latest build and test run, as ChangesRepository's SQL returns it. */
export interface ChangeRow {
  id: string;
  project_id: string;
  task_id: string | null;
  activation_id: string | null;
  repository_url: string;
  branch: string;
  base_branch: string;
  base_sha: string;
  head_sha: string;
  commits: ChangeCommit[];
  diff_stat: DiffStat;
  diff_truncated: boolean;
  status: ChangeStatus;
  build_id: string | null;
  merge_requested_at: Date | null;
  merge_requested_by: string | null;
  merge_head_sha: string | null;
  merge_forced: boolean;
  merge_error: string | null;
  merge_sha: string | null;
  merged_at: Date | null;
  merged_by: string | null;
  closed_at: Date | null;
  closed_by: string | null;
  created_at: Date;
  updated_at: Date;
  /** The latest build of the project whose commit is the head (null: none). */
  head_build_id: string | null;
  head_build_status: string | null;
  test_run_id: string | null;
  test_status: string | null;
  test_total: number | null;
  test_passed: number | null;
  test_failed: number | null;
  test_skipped: number | null;
}

const CHANGE_COLUMNS = `c.id, c.project_id, c.task_id, c.activation_id, c.repository_url, c.branch, c.base_branch,
  c.base_sha, c.head_sha, c.commits, c.diff_stat, c.diff_truncated, c.status, c.build_id, c.merge_requested_at,
  c.merge_requested_by, c.merge_head_sha, c.merge_forced, c.merge_error, c.merge_sha, c.merged_at, c.merged_by,
  c.closed_at, c.closed_by, c.created_at, c.updated_at,
  hb.id AS head_build_id, hb.status AS head_build_status,
  tr.id AS test_run_id, tr.status AS test_status, tr.total AS test_total, tr.passed AS test_passed,
  tr.failed AS test_failed, tr.skipped AS test_skipped`;

/**
 * The head's latest build: of any pipeline of the project, whose checked-out commit is the head
 * (or, not checked out yet, that was asked for exactly that commit); and its latest test run.
 */
const HEAD_JOINS = `
  LEFT JOIN LATERAL (SELECT b.id, b.status FROM builds b
                      WHERE b.project_id = c.project_id
                        AND (b.commit_sha = c.head_sha OR (b.commit_sha IS NULL AND b.commit = c.head_sha))
                      ORDER BY b.created_at DESC, b.id DESC LIMIT 1) hb ON true
  LEFT JOIN LATERAL (SELECT t.id, t.status, t.total, t.passed, t.failed, t.skipped FROM test_runs t
                      WHERE t.project_id = c.project_id AND t.commit_sha = c.head_sha
                      ORDER BY t.created_at DESC, t.id DESC LIMIT 1) tr ON true`;

export interface ChangeContent {
  commits: ChangeCommit[];
  diffStat: DiffStat;
  diff: string;
  diffTruncated: boolean;
}

export interface NewChange extends ChangeContent {
  id: string;
  projectId: string;
  taskId: string | null;
  activationId: string | null;
  repositoryUrl: string;
  branch: string;
  baseBranch: string;
  baseSha: string;
  headSha: string;
  buildId: string | null;
}

export function mapChangeRow(r: ChangeRow): ChangeDto {
  return {
    id: r.id,
    projectId: r.project_id,
    taskId: r.task_id,
    activationId: r.activation_id,
    branch: r.branch,
    baseBranch: r.base_branch,
    baseSha: r.base_sha,
    headSha: r.head_sha,
    commits: r.commits,
    diffStat: r.diff_stat,
    status: r.status,
    buildId: r.head_build_id ?? r.build_id,
    buildStatus: r.head_build_status,
    testSummary: r.test_run_id
      ? {
          runId: r.test_run_id,
          status: r.test_status ?? 'queued',
          total: r.test_total,
          passed: r.test_passed,
          failed: r.test_failed,
          skipped: r.test_skipped,
        }
      : null,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    mergeRequestedAt: iso(r.merge_requested_at),
    mergeError: r.merge_error,
    mergeSha: r.merge_sha,
    mergedAt: iso(r.merged_at),
    mergedBy: r.merged_by,
    closedAt: iso(r.closed_at),
    closedBy: r.closed_by,
    diffTruncated: r.diff_truncated,
  };
}

/** Every statement on `changes`. */
@Injectable()
export class ChangesRepository {
  constructor(private readonly sql: Sql) {}

  /** The change with `userId`'s access to its project; inside a transaction, locked FOR UPDATE. */
  withAccess(
    changeId: string,
    userId: string,
    manager?: EntityManager,
  ): Promise<(ChangeRow & ProjectAccessRow) | undefined> {
    return this.sql.one<ChangeRow & ProjectAccessRow>(
      `SELECT ${CHANGE_COLUMNS}, ${PROJECT_ACCESS_COLUMNS}
         FROM changes c ${projectAccessJoin('c', '$2')} ${HEAD_JOINS}
        WHERE c.id = $1${manager ? ' FOR UPDATE OF c' : ''}`,
      [changeId, userId],
      manager,
    );
  }

  find(changeId: string, manager?: EntityManager, lock = false): Promise<ChangeRow | undefined> {
    return this.sql.one<ChangeRow>(
      `SELECT ${CHANGE_COLUMNS} FROM changes c ${HEAD_JOINS} WHERE c.id = $1${lock ? ' FOR UPDATE OF c' : ''}`,
      [changeId],
      manager,
    );
  }

  /** The stored diff (kept out of the other reads: it may be large). */
  async diff(changeId: string): Promise<string> {
    const row = await this.sql.one<{ diff: string }>(`SELECT diff FROM changes WHERE id = $1`, [changeId]);
    return row?.diff ?? '';
  }

  page(
    projectId: string,
    status: ChangeStatus | undefined,
    query: PageQueryDto,
  ): Promise<{ rows: ChangeRow[]; total: number }> {
    const where = new Conditions().and((v) => `c.project_id = ${v(projectId)}`);
    if (status) where.and((v) => `c.status = ${v(status)}`);
    return this.sql.page<ChangeRow>(
      CHANGE_COLUMNS,
      `FROM changes c ${HEAD_JOINS}`,
      where,
      pageClause(query, 'c.created_at', 'c.id'),
    );
  }

  /** The open change of a branch of the project, locked. */
  openOfBranch(projectId: string, branch: string, manager: EntityManager): Promise<ChangeRow | undefined> {
    return this.sql.one<ChangeRow>(
      `SELECT ${CHANGE_COLUMNS} FROM changes c ${HEAD_JOINS}
        WHERE c.project_id = $1 AND c.branch = $2 AND c.status = 'open' FOR UPDATE OF c`,
      [projectId, branch],
      manager,
    );
  }

  /** Holds (until the transaction ends) the lock of one branch of one repository: merges wait in turn. */
  async lockBranch(manager: EntityManager, repositoryUrl: string, branch: string): Promise<void> {
    await this.sql.exec(
      `SELECT pg_advisory_xact_lock(hashtext($1))`,
      [`merge:${repositoryUrl}#${branch}`],
      manager,
    );
  }

  /** The task's newest open change (what a test agent adds its tests to). */
  latestOpenOfTask(taskId: string, manager?: EntityManager): Promise<ChangeRow | undefined> {
    return this.sql.one<ChangeRow>(
      `SELECT ${CHANGE_COLUMNS} FROM changes c ${HEAD_JOINS}
        WHERE c.task_id = $1 AND c.status = 'open' ORDER BY c.created_at DESC, c.id DESC LIMIT 1`,
      [taskId],
      manager,
    );
  }

  async projectExists(projectId: string, manager?: EntityManager): Promise<boolean> {
    return Boolean(await this.sql.one(`SELECT 1 FROM projects WHERE id = $1`, [projectId], manager));
  }

  async insert(c: NewChange, manager: EntityManager): Promise<void> {
    await this.sql.exec(
      `INSERT INTO changes (id, project_id, task_id, activation_id, repository_url, branch, base_branch, base_sha,
                            head_sha, commits, diff_stat, diff, diff_truncated, status, build_id)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'open', $14)`,
      [
        c.id,
        c.projectId,
        c.taskId,
        c.activationId,
        c.repositoryUrl,
        c.branch,
        c.baseBranch,
        c.baseSha,
        c.headSha,
        JSON.stringify(c.commits),
        JSON.stringify(c.diffStat),
        c.diff,
        c.diffTruncated,
        c.buildId,
      ],
      manager,
    );
  }

  /** An open change moved to a new head (a new push of its branch): its content is read again. */
  async updateHead(changeId: string, c: NewChange, manager: EntityManager): Promise<void> {
    await this.sql.exec(
      `UPDATE changes SET repository_url = $2, base_branch = $3, base_sha = $4, head_sha = $5, commits = $6,
              diff_stat = $7, diff = $8, diff_truncated = $9, build_id = $10,
              task_id = COALESCE($11, task_id), activation_id = COALESCE($12, activation_id),
              merge_error = NULL, updated_at = now()
        WHERE id = $1`,
      [
        changeId,
        c.repositoryUrl,
        c.baseBranch,
        c.baseSha,
        c.headSha,
        JSON.stringify(c.commits),
        JSON.stringify(c.diffStat),
        c.diff,
        c.diffTruncated,
        c.buildId,
        c.taskId,
        c.activationId,
      ],
      manager,
    );
  }

  async requestMerge(
    changeId: string,
    by: string,
    headSha: string,
    forced: boolean,
    manager: EntityManager,
  ): Promise<void> {
    await this.sql.exec(
      `UPDATE changes SET merge_requested_at = now(), merge_requested_by = $2, merge_head_sha = $3,
              merge_forced = $4, merge_error = NULL, updated_at = now()
        WHERE id = $1`,
      [changeId, by, headSha, forced],
      manager,
    );
  }

  async markMerged(changeId: string, mergeSha: string, manager: EntityManager): Promise<void> {
    await this.sql.exec(
      `UPDATE changes SET status = 'merged', merge_sha = $2, merged_at = now(), merged_by = merge_requested_by,
              merge_requested_at = NULL, merge_error = NULL, updated_at = now()
        WHERE id = $1`,
      [changeId, mergeSha],
      manager,
    );
  }

  async markMergeFailed(changeId: string, reason: string, manager: EntityManager): Promise<void> {
    await this.sql.exec(
      `UPDATE changes SET merge_requested_at = NULL, merge_error = $2, updated_at = now() WHERE id = $1`,
      [changeId, reason],
      manager,
    );
  }

  async close(changeId: string, by: string, manager: EntityManager): Promise<void> {
    await this.sql.exec(
      `UPDATE changes SET status = 'closed', closed_at = now(), closed_by = $2, updated_at = now() WHERE id = $1`,
      [changeId, by],
      manager,
    );
  }
}
