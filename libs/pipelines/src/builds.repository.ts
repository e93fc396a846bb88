import { Injectable } from '@nestjs/common';
import { Conditions, pageClause, PageQueryDto, QueueReconciler, Sql } from '@app/core';
import { PROJECT_ACCESS_COLUMNS, projectAccessJoin, ProjectAccessRow } from '@app/projects';
import { SandboxNetwork, sweepLapsed } from '@app/runner';
import { EntityManager } from 'typeorm';
import { BuildStage, BuildStatus, Environment, StoredArtifact } from './build.entity';
import { BuildRow } from './build.rows';

const BUILD_COLUMNS = `b.id, b.pipeline_id, b.project_id, b.status, b.branch, b.commit, b.commit_sha, b.environment,
  b.skip_tests, b.variable_names, b.stages, b.artifacts, b.network, b.current_stage, b.progress, b.error, b.triggered_by,
  b.started_at, b.finished_at, b.created_at`;

/** Triggers take this PostgreSQL advisory lock so queue positions are exact under concurrency. */
const QUEUE_LOCK = 727_105;
/** How many recent finished builds make a duration estimate. */
const RECENT_BUILDS = 20;
/** Queued builds wait for their `build.run` job (keyed by the build's id): the reconciler's rows. */
export const QUEUED_BUILDS = QueueReconciler.ownJob('builds', 'created_at', 'build.run', (buildId) => ({
  buildId,
}));
/** Running builds whose worker stopped renewing their lease. */
const LAPSED_BUILDS = { table: 'builds', running: 'running', limit: 50 };

/** A build as its worker claims it: with what only the worker sees. */
export type ClaimedBuild = BuildRow & {
  variables: Record<string, string>;
  repository_url: string;
  /** The URL is the project's: its credentials, if any, are the project's too (ProjectsService.repositoryAccess). */
  project_credentials: boolean;
  artifact_globs: string[];
  network: SandboxNetwork;
};

/** A running build whose lease ran out, locked for its sweep. */
export type LapsedBuild = BuildRow & {
  locked_by: string | null;
  process_group: number | null;
  cancel: boolean;
};

export interface NewBuild {
  id: string;
  pipelineId: string;
  projectId: string;
  branch: string;
  commit: string | null;
  environment: Environment | null;
  skipTests: boolean;
  variables: Record<string, string>;
  repositoryUrl: string;
  projectCredentials: boolean;
  stages: BuildStage[];
  artifactGlobs: string[];
  network: SandboxNetwork;
  triggeredBy: string;
}

/** A build's end as its worker records it. */
export interface FinishedBuild {
  status: BuildStatus;
  progress: number;
  stages: BuildStage[];
  artifacts: StoredArtifact[];
  error: string | null;
  commitSha: string | null;
}

/** Every statement on `builds` but the log's (BuildLogRepository): the API's, the queue's and the runner's. */
@Injectable()
export class BuildsRepository {
  constructor(private readonly sql: Sql) {}

  // ---- the API's --------------------------------------------------------------------------------

  /** Serialises triggers until `manager`'s transaction ends. */
  async lockQueue(manager: EntityManager): Promise<void> {
    await this.sql.rows('SELECT pg_advisory_xact_lock($1)', [QUEUE_LOCK], manager);
  }

  /** Inserts a queued build; clock_timestamp(), taken under the queue lock: trigger order is queue order. */
  async insertQueued(b: NewBuild, manager: EntityManager): Promise<BuildRow> {
    const row = await this.sql.one<BuildRow>(
      `INSERT INTO builds AS b (id, pipeline_id, project_id, status, branch, commit, environment, skip_tests, variables,
                                  variable_names, repository_url, stages, artifact_globs, network, triggered_by,
                                  project_credentials, created_at)
         VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8::jsonb, $9, $10, $11::jsonb, $12, $13, $14, $15, clock_timestamp())
         RETURNING ${BUILD_COLUMNS}`,
      [
        b.id,
        b.pipelineId,
        b.projectId,
        b.branch,
        b.commit,
        b.environment,
        b.skipTests,
        JSON.stringify(b.variables),
        Object.keys(b.variables),
        b.repositoryUrl,
        JSON.stringify(b.stages),
        b.artifactGlobs,
        b.network,
        b.triggeredBy,
        b.projectCredentials,
      ],
      manager,
    );
    return row!;
  }

  /** The pipelines of the queued builds ahead of `buildId`, first in the queue first. */
  queuedAhead(buildId: string, manager: EntityManager): Promise<Array<{ pipeline_id: string }>> {
    return this.sql.rows(
      `SELECT pipeline_id FROM builds
          WHERE status = 'queued' AND (created_at, id) < (SELECT created_at, id FROM builds WHERE id = $1)
          ORDER BY created_at, id`,
      [buildId],
      manager,
    );
  }

  /** The running builds' pipelines and seconds since they started. */
  running(manager: EntityManager): Promise<Array<{ pipeline_id: string; elapsed: number }>> {
    return this.sql.rows(
      `SELECT pipeline_id, extract(epoch FROM clock_timestamp() - started_at)::float AS elapsed
         FROM builds WHERE status = 'running' AND started_at IS NOT NULL`,
      [],
      manager,
    );
  }

  /** Durations in seconds of each pipeline's last RECENT_BUILDS finished builds (null: none). */
  recentDurations(
    pipelineIds: string[],
    manager: EntityManager,
  ): Promise<Array<{ pipeline_id: string; seconds: number[] | null }>> {
    return this.sql.rows(
      `SELECT p.id AS pipeline_id, r.seconds FROM unnest($1::varchar[]) AS p(id)
         LEFT JOIN LATERAL (
           SELECT array_agg(extract(epoch FROM b.finished_at - b.started_at)::float) AS seconds
             FROM (SELECT finished_at, started_at FROM builds b
                    WHERE b.pipeline_id = p.id AND b.status IN ('success', 'failed') AND b.started_at IS NOT NULL
                      AND b.finished_at IS NOT NULL
                    ORDER BY b.finished_at DESC LIMIT ${RECENT_BUILDS}) b
         ) r ON TRUE`,
      [pipelineIds],
      manager,
    );
  }

  /** Durations in seconds of the platform's last RECENT_BUILDS finished builds. */
  async platformDurations(manager: EntityManager): Promise<number[] | null> {
    const row = await this.sql.one<{ seconds: number[] | null }>(
      `SELECT array_agg(extract(epoch FROM finished_at - started_at)::float) AS seconds
         FROM (SELECT finished_at, started_at FROM builds
                WHERE status IN ('success', 'failed') AND started_at IS NOT NULL AND finished_at IS NOT NULL
                ORDER BY finished_at DESC LIMIT ${RECENT_BUILDS}) b`,
      [],
      manager,
    );
    return row?.seconds ?? null;
  }

  /** A page of a pipeline's builds, optionally of one status or branch. */
  page(
    pipelineId: string,
    filter: { status?: BuildStatus; branch?: string },
    query: PageQueryDto,
  ): Promise<{ rows: BuildRow[]; total: number }> {
    const where = new Conditions().and((v) => `b.pipeline_id = ${v(pipelineId)}`);
    if (filter.status) where.and((v) => `b.status = ${v(filter.status)}`);
    if (filter.branch) where.and((v) => `b.branch = ${v(filter.branch)}`);
    return this.sql.page<BuildRow>(
      BUILD_COLUMNS,
      'FROM builds b',
      where,
      pageClause(query, 'b.created_at', 'b.id'),
    );
  }

  /** Builds ahead of each of the queued builds `buildIds`. */
  queuePositions(buildIds: string[]): Promise<Array<{ id: string; n: number }>> {
    return this.sql.rows<{ id: string; n: number }>(
      `SELECT b.id, (SELECT count(*)::int FROM builds q
                      WHERE q.status = 'queued' AND (q.created_at, q.id) < (b.created_at, b.id)) AS n
         FROM builds b WHERE b.id = ANY($1)`,
      [buildIds],
    );
  }

  /**
   * The build with `userId`'s access to its project, in one statement; with `lock`, the row is
   * locked FOR UPDATE (inside `manager`'s transaction).
   */
  withAccess(
    buildId: string,
    userId: string,
    lock: boolean,
    manager?: EntityManager,
  ): Promise<(BuildRow & ProjectAccessRow) | undefined> {
    return this.sql.one<BuildRow & ProjectAccessRow>(
      `SELECT ${BUILD_COLUMNS}, ${PROJECT_ACCESS_COLUMNS}
        FROM builds b ${projectAccessJoin('b', '$2')}
       WHERE b.id = $1${lock ? ' FOR UPDATE OF b' : ''}`,
      [buildId, userId],
      manager,
    );
  }

  /** Marks a running build as asked to stop (its worker reads the flag at its next renewal). */
  async requestCancel(buildId: string, manager: EntityManager): Promise<void> {
    await this.sql.exec(
      `UPDATE builds SET cancel_requested_at = coalesce(cancel_requested_at, now()), updated_at = now() WHERE id = $1`,
      [buildId],
      manager,
    );
  }

  /** Cancels a build that has not started, with its `stages` and `progress`. */
  async cancelQueued(
    buildId: string,
    stages: BuildStage[],
    progress: number,
    manager: EntityManager,
  ): Promise<BuildRow> {
    const row = await this.sql.one<BuildRow>(
      `UPDATE builds b SET status = 'cancelled', cancel_requested_at = now(), finished_at = now(), stages = $2::jsonb,
                progress = $3, variables = '{}', updated_at = now()
          WHERE id = $1 RETURNING ${BUILD_COLUMNS}`,
      [buildId, JSON.stringify(stages), progress],
      manager,
    );
    return row!;
  }

  /** Up to 5 of the pipeline's queued or running builds. */
  activeOfPipeline(
    pipelineId: string,
    manager: EntityManager,
  ): Promise<Array<{ id: string; status: string }>> {
    return this.sql.rows(
      `SELECT id, status FROM builds WHERE pipeline_id = $1 AND status IN ('queued', 'running') LIMIT 5`,
      [pipelineId],
      manager,
    );
  }

  /** The ids of every build of the pipeline. */
  async idsOfPipeline(pipelineId: string, manager: EntityManager): Promise<string[]> {
    const rows = await this.sql.rows<{ id: string }>(
      `SELECT id FROM builds WHERE pipeline_id = $1`,
      [pipelineId],
      manager,
    );
    return rows.map((b) => b.id);
  }

  // ---- the runner's -----------------------------------------------------------------------------

  /** Takes a queued build for `workerId` with a lease of `leaseSeconds`; undefined when it is not queued. */
  claim(
    buildId: string,
    workerId: string,
    leaseSeconds: number,
    manager: EntityManager,
  ): Promise<ClaimedBuild | undefined> {
    return this.sql.one<ClaimedBuild>(
      `UPDATE builds b SET status = 'running', started_at = clock_timestamp(), attempts = attempts + 1,
                locked_by = $2, locked_until = now() + make_interval(secs => $3), updated_at = now()
          WHERE id = $1 AND status = 'queued'
          RETURNING ${BUILD_COLUMNS}, b.variables, b.repository_url, b.project_credentials, b.artifact_globs`,
      [buildId, workerId, leaseSeconds],
      manager,
    );
  }

  /** Stores a running build's stages; false when `workerId` no longer holds it. */
  async saveStages(
    buildId: string,
    workerId: string,
    s: { stages: BuildStage[]; currentStage: string | null; progress: number; commitSha: string | null },
    manager: EntityManager,
  ): Promise<boolean> {
    const rows = await this.sql.rows(
      `UPDATE builds SET stages = $2::jsonb, current_stage = $3, progress = $4, commit_sha = coalesce($5, commit_sha),
                  updated_at = now()
            WHERE id = $1 AND locked_by = $6 AND status = 'running' RETURNING id`,
      [buildId, JSON.stringify(s.stages), s.currentStage, s.progress, s.commitSha, workerId],
      manager,
    );
    return rows.length > 0;
  }

  /** Records the end of a build `workerId` holds and releases it; undefined when it no longer holds it. */
  finish(
    buildId: string,
    workerId: string,
    f: FinishedBuild,
    manager: EntityManager,
  ): Promise<BuildRow | undefined> {
    return this.sql.one<BuildRow>(
      `UPDATE builds b SET status = $2, finished_at = clock_timestamp(), current_stage = NULL, progress = $3,
                stages = $4::jsonb, artifacts = $5::jsonb, error = $6, commit_sha = coalesce($7, commit_sha),
                locked_by = NULL, locked_until = NULL, process_group = NULL, variables = '{}', updated_at = now()
          WHERE id = $1 AND locked_by = $8 AND status = 'running' RETURNING ${BUILD_COLUMNS}`,
      [
        buildId,
        f.status,
        f.progress,
        JSON.stringify(f.stages),
        JSON.stringify(f.artifacts),
        f.error,
        f.commitSha,
        workerId,
      ],
      manager,
    );
  }

  /** Extends the lease; undefined when `workerId` no longer holds the build, else whether a cancel was asked. */
  renew(buildId: string, workerId: string, leaseSeconds: number): Promise<{ cancel: boolean } | undefined> {
    return this.sql.one<{ cancel: boolean }>(
      `UPDATE builds SET locked_until = now() + make_interval(secs => $3)
        WHERE id = $1 AND locked_by = $2 AND status = 'running' RETURNING cancel_requested_at IS NOT NULL AS cancel`,
      [buildId, workerId, leaseSeconds],
    );
  }

  /** One pass over running builds whose lease ran out, the longest lapsed first (see sweepLapsed). */
  sweepLapsed(act: (buildId: string) => Promise<boolean>): Promise<number> {
    return sweepLapsed(this.sql, LAPSED_BUILDS, act);
  }

  /** The build if it still runs on a lapsed lease, locked (skipped when another sweep holds it). */
  lockLapsed(buildId: string, manager: EntityManager): Promise<LapsedBuild | undefined> {
    return this.sql.one<LapsedBuild>(
      `SELECT ${BUILD_COLUMNS}, b.locked_by, b.process_group, b.cancel_requested_at IS NOT NULL AS cancel
             FROM builds b WHERE id = $1 AND status = 'running' AND locked_until < now() FOR UPDATE SKIP LOCKED`,
      [buildId],
      manager,
    );
  }

  /** Records the end of a build whose worker stopped, and releases it. */
  async expire(
    buildId: string,
    e: { status: BuildStatus; progress: number; stages: BuildStage[]; error: string | null },
    manager: EntityManager,
  ): Promise<BuildRow> {
    const row = await this.sql.one<BuildRow>(
      `UPDATE builds b SET status = $2, finished_at = clock_timestamp(), current_stage = NULL, progress = $3,
                stages = $4::jsonb, error = $5, locked_by = NULL, locked_until = NULL, process_group = NULL,
                variables = '{}', updated_at = now()
          WHERE id = $1 RETURNING ${BUILD_COLUMNS}`,
      [buildId, e.status, e.progress, JSON.stringify(e.stages), e.error],
      manager,
    );
    return row!;
  }
}
