import { Injectable } from '@nestjs/common';
import {
  AppConfig,
  AppError,
  Conditions,
  iso,
  LiveEvents,
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
} from '@app/core';
import {
  accessOf,
  PROJECT_ACCESS_COLUMNS,
  ProjectAccess,
  projectAccessJoin,
  ProjectAccessRow,
  ProjectAccessService,
} from '@app/projects';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BUILD_COLUMNS,
  BuildDto,
  BuildRow,
  ListBuildsQueryDto,
  mapBuildRow,
  TriggerBuildDto,
  TriggeredBuildDto,
} from './build.dto';
import { BuildLogService, BuildLogStreamItem } from './build-log.service';
import { BuildSlots } from './build-slots';
import { BuildStage, CHECKOUT_STAGE, FINISHED_BUILD_STATUSES } from './build.entity';
import { PipelinesService } from './pipelines.service';
import { buildProgress, estimateStartDelayMs, typicalDurationSeconds } from './queue-estimate';

/** Triggers take this PostgreSQL advisory lock so queue positions are exact under concurrency. */
const QUEUE_LOCK = 727_105;
/** Running builds hear a cancel on this channel (and see cancel_requested_at at their next renewal). */
export const BUILD_CANCEL_CHANNEL = 'builds:cancel';
/** How many recent finished builds make a duration estimate. */
const RECENT_BUILDS = 20;

export interface ArtifactFile {
  name: string;
  size: number;
  path: string;
}

/** The gateway side of builds: trigger, read, cancel, logs and artifacts. The worker side is BuildRunner. */
@Injectable()
export class BuildsService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly sql: Sql,
    private readonly pipelines: PipelinesService,
    private readonly access: ProjectAccessService,
    private readonly outbox: OutboxService,
    private readonly log: BuildLogService,
    private readonly live: LiveEvents,
    private readonly slots: BuildSlots,
    private readonly config: AppConfig,
  ) {}

  async trigger(actor: Principal, pipelineId: string, dto: TriggerBuildDto): Promise<TriggeredBuildDto> {
    const slots = await this.slots.total().catch(() => 1);
    return this.uow.run(async (tx) => {
      const { row: pipeline } = await this.pipelines.loadWritable(
        tx,
        actor,
        pipelineId,
        Permission.BuildsWrite,
      );
      await tx.manager.query('SELECT pg_advisory_xact_lock($1)', [QUEUE_LOCK]);
      const variables = dto.variables ?? {};
      const stages: BuildStage[] = [
        {
          name: CHECKOUT_STAGE,
          commands: [],
          timeoutSeconds: this.config.builds.cloneTimeoutSeconds,
          status: 'pending',
        },
        ...pipeline.stages.map((s) => ({ ...s, status: 'pending' as const })),
      ];
      // clock_timestamp(), taken under the lock: trigger order is queue order.
      const [row]: BuildRow[] = await tx.manager.query(
        `INSERT INTO builds AS b (id, pipeline_id, project_id, status, branch, commit, environment, skip_tests, variables,
                                  variable_names, repository_url, stages, artifact_globs, network, triggered_by, created_at)
         VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8::jsonb, $9, $10, $11::jsonb, $12, $13, $14, clock_timestamp())
         RETURNING ${BUILD_COLUMNS}`,
        [
          newId('build'),
          pipeline.id,
          pipeline.project_id,
          dto.branch ?? pipeline.default_branch,
          dto.commit?.toLowerCase() ?? null,
          dto.environment ?? null,
          dto.skipTests ?? false,
          JSON.stringify(variables),
          Object.keys(variables),
          pipeline.repository_url,
          JSON.stringify(stages),
          pipeline.artifacts,
          pipeline.network,
          actor.userId,
        ],
      );
      const ahead: Array<{ pipeline_id: string }> = await tx.manager.query(
        `SELECT pipeline_id FROM builds
          WHERE status = 'queued' AND (created_at, id) < (SELECT created_at, id FROM builds WHERE id = $1)
          ORDER BY created_at, id`,
        [row.id],
      );
      const delayMs = await this.estimateStartDelay(tx, slots, pipeline.id, ahead);
      await this.log.append(
        row.id,
        [{ kind: 'status', body: JSON.stringify({ status: 'queued', progress: 0 }) }],
        tx,
      );
      await this.outbox.enqueue(tx, 'build.run', { buildId: row.id }, { key: row.id });
      return {
        buildId: row.id,
        pipelineId: pipeline.id,
        status: 'queued',
        queuePosition: ahead.length,
        triggeredBy: actor.userId,
        triggeredAt: iso(row.created_at),
        estimatedStartTime: iso(new Date(row.created_at.getTime() + delayMs)),
      };
    });
  }

  async get(actor: Principal, buildId: string): Promise<BuildDto> {
    const { row } = await this.loadVisible(null, actor, buildId);
    const positions = await this.queuePositions([row]);
    return mapBuildRow(row, this.config.http.publicBaseUrl, positions.get(row.id) ?? null);
  }

  async list(actor: Principal, pipelineId: string, query: ListBuildsQueryDto): Promise<Page<BuildDto>> {
    const { row: pipeline } = await this.pipelines.loadVisible(null, actor, pipelineId);
    const where = new Conditions().and((v) => `b.pipeline_id = ${v(pipeline.id)}`);
    if (query.status) where.and((v) => `b.status = ${v(query.status)}`);
    if (query.branch) where.and((v) => `b.branch = ${v(query.branch)}`);
    const { rows, total } = await this.sql.page<BuildRow>(
      BUILD_COLUMNS,
      'FROM builds b',
      where,
      pageClause(query, 'b.created_at', 'b.id'),
    );
    const positions = await this.queuePositions(rows);
    return pageOf(
      rows.map((r) => mapBuildRow(r, this.config.http.publicBaseUrl, positions.get(r.id) ?? null)),
      total,
      query,
    );
  }

  /**
   * A queued build is cancelled at once; a running one is told to stop (it answers within
   * moments: its process group is killed) and the answer still says `running`.
   */
  async cancel(actor: Principal, buildId: string): Promise<BuildDto> {
    const row = await this.uow.run(async (tx) => {
      const { row } = await this.loadWritable(tx, actor, buildId);
      if (FINISHED_BUILD_STATUSES.includes(row.status))
        throw AppError.conflict(`The build is already ${row.status}`, { status: row.status });
      if (row.status === 'running') {
        await tx.manager.query(
          `UPDATE builds SET cancel_requested_at = coalesce(cancel_requested_at, now()), updated_at = now() WHERE id = $1`,
          [row.id],
        );
        tx.afterCommit(() => this.live.publish(BUILD_CANCEL_CHANNEL, row.id));
        return row;
      }
      const stages = row.stages.map((s) => ({ ...s, status: 'skipped' as const }));
      const [updated]: [BuildRow[], number] = await tx.manager.query(
        `UPDATE builds b SET status = 'cancelled', cancel_requested_at = now(), finished_at = now(), stages = $2::jsonb,
                progress = $3, variables = '{}', updated_at = now()
          WHERE id = $1 RETURNING ${BUILD_COLUMNS}`,
        [row.id, JSON.stringify(stages), buildProgress(stages)],
      );
      const cancelled = updated[0];
      await this.log.append(
        row.id,
        [{ kind: 'status', body: JSON.stringify({ status: 'cancelled', progress: cancelled.progress }) }],
        tx,
      );
      await this.outbox.publish(
        tx,
        'build.completed',
        { build: mapBuildRow(cancelled, this.config.http.publicBaseUrl), cancelledBy: actor.userId },
        cancelled.project_id,
      );
      return cancelled;
    });
    return mapBuildRow(row, this.config.http.publicBaseUrl);
  }

  async logText(actor: Principal, buildId: string): Promise<string> {
    const { row } = await this.loadVisible(null, actor, buildId);
    return this.log.text(row.id);
  }

  /** Checks access now; the returned function streams the log events after `lastEventId`. */
  async logEvents(
    actor: Principal,
    buildId: string,
    lastEventId: number,
  ): Promise<(signal: AbortSignal) => AsyncGenerator<BuildLogStreamItem>> {
    const { row } = await this.loadVisible(null, actor, buildId);
    return (signal) => this.log.stream(row.id, lastEventId, signal);
  }

  async artifact(actor: Principal, buildId: string, name: string): Promise<ArtifactFile> {
    const { row } = await this.loadVisible(null, actor, buildId);
    const artifact = row.artifacts.find((a) => a.name === name);
    if (!artifact) throw AppError.notFound('artifact', name);
    const path = join(this.config.builds.artifactsRoot, row.id, artifact.file);
    const info = await stat(path).catch(() => null);
    if (!info?.isFile()) throw AppError.notFound('artifact', name);
    return { name: artifact.name, size: info.size, path };
  }

  // ---- helpers --------------------------------------------------------------------------------

  /** Builds ahead of each queued build of `rows`. */
  private async queuePositions(rows: BuildRow[]): Promise<Map<string, number>> {
    const queued = rows.filter((r) => r.status === 'queued').map((r) => r.id);
    if (!queued.length) return new Map();
    const positions = await this.sql.rows<{ id: string; n: number }>(
      `SELECT b.id, (SELECT count(*)::int FROM builds q
                      WHERE q.status = 'queued' AND (q.created_at, q.id) < (b.created_at, b.id)) AS n
         FROM builds b WHERE b.id = ANY($1)`,
      [queued],
    );
    return new Map(positions.map((p) => [p.id, p.n]));
  }

  /**
   * When a build queued now should start: the running builds finish after their pipeline's
   * typical duration, the builds ahead take the free slots in turn, each for its pipeline's
   * typical duration (mean of its last 20 finished builds; else of the platform's; else 60 s).
   */
  private async estimateStartDelay(
    tx: Tx,
    slots: number,
    pipelineId: string,
    ahead: Array<{ pipeline_id: string }>,
  ): Promise<number> {
    const running: Array<{ pipeline_id: string; elapsed: number }> = await tx.manager.query(
      `SELECT pipeline_id, extract(epoch FROM clock_timestamp() - started_at)::float AS elapsed
         FROM builds WHERE status = 'running' AND started_at IS NOT NULL`,
    );
    if (!running.length && !ahead.length) return 0;
    const ids = [
      ...new Set([pipelineId, ...ahead.map((a) => a.pipeline_id), ...running.map((r) => r.pipeline_id)]),
    ];
    const recent: Array<{ pipeline_id: string; seconds: number[] | null }> = await tx.manager.query(
      `SELECT p.id AS pipeline_id, r.seconds FROM unnest($1::varchar[]) AS p(id)
         LEFT JOIN LATERAL (
           SELECT array_agg(extract(epoch FROM b.finished_at - b.started_at)::float) AS seconds
             FROM (SELECT finished_at, started_at FROM builds b
                    WHERE b.pipeline_id = p.id AND b.status IN ('success', 'failed') AND b.started_at IS NOT NULL
                      AND b.finished_at IS NOT NULL
                    ORDER BY b.finished_at DESC LIMIT ${RECENT_BUILDS}) b
         ) r ON TRUE`,
      [ids],
    );
    const [platform]: Array<{ seconds: number[] | null }> = await tx.manager.query(
      `SELECT array_agg(extract(epoch FROM finished_at - started_at)::float) AS seconds
         FROM (SELECT finished_at, started_at FROM builds
                WHERE status IN ('success', 'failed') AND started_at IS NOT NULL AND finished_at IS NOT NULL
                ORDER BY finished_at DESC LIMIT ${RECENT_BUILDS}) b`,
    );
    const fallback = typicalDurationSeconds(platform?.seconds ?? []);
    const typical = new Map(
      recent.map((r) => [r.pipeline_id, typicalDurationSeconds(r.seconds ?? [], fallback)]),
    );
    const ms = (id: string) => (typical.get(id) ?? fallback) * 1000;
    return estimateStartDelayMs({
      slots,
      runningRemainingMs: running.map((r) => ms(r.pipeline_id) - r.elapsed * 1000),
      aheadDurationsMs: ahead.map((a) => ms(a.pipeline_id)),
    });
  }

  private async loadVisible(
    tx: Tx | null,
    actor: Principal,
    buildId: string,
    lock = false,
  ): Promise<{ row: BuildRow; access: ProjectAccess }> {
    const text = `SELECT ${BUILD_COLUMNS}, ${PROJECT_ACCESS_COLUMNS}
        FROM builds b ${projectAccessJoin('b', '$2')}
       WHERE b.id = $1${lock ? ' FOR UPDATE OF b' : ''}`;
    const values = [buildId, actor.userId];
    const rows: Array<BuildRow & ProjectAccessRow> = tx
      ? await tx.manager.query(text, values)
      : await this.sql.rows(text, values);
    const r = rows[0];
    const access = r ? accessOf(r.project_id, r) : null;
    if (!r || !access || !this.access.canSee(actor, access)) throw AppError.notFound('build', buildId);
    return { row: r, access };
  }

  private async loadWritable(tx: Tx, actor: Principal, buildId: string) {
    const loaded = await this.loadVisible(tx, actor, buildId, true);
    this.access.assertCanChange(actor, loaded.access, Permission.BuildsWrite);
    return loaded;
  }
}
