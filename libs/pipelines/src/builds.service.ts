import { Injectable } from '@nestjs/common';
import {
  AppConfig,
  AppError,
  iso,
  LiveEvents,
  newId,
  OutboxService,
  Page,
  pageOf,
  Permission,
  Principal,
  Tx,
  UnitOfWork,
} from '@app/core';
import { accessOf, ProjectAccess, ProjectAccessService } from '@app/projects';
import { FileStore } from '@app/storage';
import { Readable } from 'node:stream';
import { buildArtifactKey } from './artifact-keys';
import { BuildDto, ListBuildsQueryDto, TriggerBuildDto, TriggeredBuildDto } from './build.dto';
import { BuildRow, mapBuildRow } from './build.rows';
import { effectiveRepository } from './pipeline.rows';
import { BuildLogService, BuildLogStreamItem } from './build-log.service';
import { BuildSlots } from './build-slots';
import { BuildStage, CHECKOUT_STAGE, FINISHED_BUILD_STATUSES } from './build.entity';
import { BuildsRepository } from './builds.repository';
import { PipelinesService } from './pipelines.service';
import { buildProgress, estimateStartDelayMs, typicalDurationSeconds } from './queue-estimate';

/** Running builds hear a cancel on this channel (and see cancel_requested_at at their next renewal). */
export const BUILD_CANCEL_CHANNEL = 'builds:cancel';

export interface ArtifactFile {
  name: string;
  size: number;
  /** The bytes, from the file store: read it once, or destroy it. */
  stream: Readable;
}

/** The gateway side of builds: trigger, read, cancel, logs and artifacts. The worker side is BuildRunner. */
@Injectable()
export class BuildsService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly builds: BuildsRepository,
    private readonly pipelines: PipelinesService,
    private readonly access: ProjectAccessService,
    private readonly outbox: OutboxService,
    private readonly log: BuildLogService,
    private readonly live: LiveEvents,
    private readonly slots: BuildSlots,
    private readonly config: AppConfig,
    private readonly files: FileStore,
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
      const repository = effectiveRepository(pipeline);
      if (!repository)
        throw AppError.conflict(
          "The pipeline follows its project's repository, and the project has none: set the project's repository or the pipeline's repositoryUrl",
          { field: 'repositoryUrl' },
        );
      await this.builds.lockQueue(tx.manager);
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
      const row = await this.builds.insertQueued(
        {
          id: newId('build'),
          pipelineId: pipeline.id,
          projectId: pipeline.project_id,
          branch: dto.branch ?? repository.defaultBranch,
          commit: dto.commit?.toLowerCase() ?? null,
          environment: dto.environment ?? null,
          skipTests: dto.skipTests ?? false,
          variables,
          repositoryUrl: repository.url,
          projectCredentials: repository.projectCredentials,
          stages,
          artifactGlobs: pipeline.artifacts,
          network: pipeline.network,
          triggeredBy: actor.userId,
        },
        tx.manager,
      );
      const ahead = await this.builds.queuedAhead(row.id, tx.manager);
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
    const { rows, total } = await this.builds.page(
      pipeline.id,
      { status: query.status, branch: query.branch },
      query,
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
        await this.builds.requestCancel(row.id, tx.manager);
        tx.afterCommit(() => this.live.publish(BUILD_CANCEL_CHANNEL, row.id));
        return row;
      }
      const stages = row.stages.map((s) => ({ ...s, status: 'skipped' as const }));
      const cancelled = await this.builds.cancelQueued(row.id, stages, buildProgress(stages), tx.manager);
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
    const file = await this.files.get(buildArtifactKey(row.id, artifact.file));
    if (!file) throw AppError.notFound('artifact', name);
    return { name: artifact.name, size: file.size, stream: file.stream };
  }

  // ---- helpers --------------------------------------------------------------------------------

  /** Builds ahead of each queued build of `rows`. */
  private async queuePositions(rows: BuildRow[]): Promise<Map<string, number>> {
    const queued = rows.filter((r) => r.status === 'queued').map((r) => r.id);
    if (!queued.length) return new Map();
    const positions = await this.builds.queuePositions(queued);
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
    const running = await this.builds.running(tx.manager);
    if (!running.length && !ahead.length) return 0;
    const ids = [
      ...new Set([pipelineId, ...ahead.map((a) => a.pipeline_id), ...running.map((r) => r.pipeline_id)]),
    ];
    const recent = await this.builds.recentDurations(ids, tx.manager);
    const platform = await this.builds.platformDurations(tx.manager);
    const fallback = typicalDurationSeconds(platform ?? []);
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
    const r = await this.builds.withAccess(buildId, actor.userId, lock, tx?.manager);
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
