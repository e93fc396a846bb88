import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { AppConfig, iso, LiveEvents, OutboxService, QueueReconciler, UnitOfWork } from '@app/core';
import {
  cloneAndCheckout,
  findArtifacts,
  JobLeases,
  LeasedJob,
  onThisHost,
  Renewal,
  Sandbox,
  SandboxResult,
  shell,
  storeArtifacts,
  Workspace,
} from '@app/runner';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { mapStage } from './build.dto';
import { mapBuildRow } from './build.rows';
import { BuildStage, BuildStatus, StageStatus, StoredArtifact } from './build.entity';
import { BuildLogWriter } from './build-log-writer';
import { BuildLogService } from './build-log.service';
import { BuildSlots } from './build-slots';
import { BuildsRepository, ClaimedBuild, QUEUED_BUILDS } from './builds.repository';
import { BUILD_CANCEL_CHANNEL } from './builds.service';
import { redactUrl, urlSecrets } from './git-refs';
import { buildProgress } from './queue-estimate';
import { secretsOf } from './secret-masker';

class LeaseLost extends Error {}

const PROGRESS_OF = (stages: BuildStage[]) => buildProgress(stages.map(mapStage));

/**
 * The worker side of builds. A build is claimed (queued -> running) with a lease this worker
 * renews while it runs; a worker that dies stops renewing, and a sweep in any worker fails the
 * build once the lease has run out (and, on the same host, kills what the dead worker left
 * running); the same sweep enqueues again queued builds whose job Redis lost. The checkout and
 * every stage command run in a fresh workspace, in their own process group, with the build's
 * variables as environment and nothing of the worker's.
 */
@Injectable()
export class BuildRunner implements BeforeApplicationShutdown {
  private readonly logger = new Logger(BuildRunner.name);
  private readonly leases = new JobLeases('build', this.logger);
  readonly workerId = this.leases.workerId;
  private unsubscribe: (() => Promise<void>) | null = null;

  constructor(
    private readonly uow: UnitOfWork,
    private readonly builds: BuildsRepository,
    private readonly outbox: OutboxService,
    private readonly log: BuildLogService,
    private readonly live: LiveEvents,
    private readonly slots: BuildSlots,
    private readonly config: AppConfig,
    private readonly sandbox: Sandbox,
    private readonly reconciler: QueueReconciler,
  ) {}

  /** In the worker: hear cancels, announce this worker's slots, sweep expired leases and lost jobs. */
  async start(): Promise<void> {
    this.unsubscribe = await this.live.subscribe(BUILD_CANCEL_CHANNEL, (id) =>
      this.leases.stop(id, 'cancelled'),
    );
    const cfg = this.config.builds;
    await this.leases.sweepEvery(cfg.sweepIntervalMs, async () => {
      await this.slots.announce(this.workerId, cfg.concurrency, Math.max(3 * cfg.sweepIntervalMs, 30_000));
      await this.sweep();
    });
  }

  /** SIGTERM: running builds stop now and are failed, rather than holding the shutdown for their whole run. */
  async beforeApplicationShutdown(): Promise<void> {
    if (!this.leases.started) return; // a gateway: it never runs builds
    await this.leases.shutdown();
    await this.unsubscribe?.().catch(() => undefined);
    await this.slots.withdraw(this.workerId, this.config.builds.concurrency).catch(() => undefined);
  }

  /** Runs the build if it is still queued; a repeated job finds it taken and does nothing. */
  async run(buildId: string): Promise<BuildStatus | 'skipped'> {
    this.leases.assertRunning();
    const build = await this.claim(buildId);
    if (!build) return 'skipped';
    // renewAtOnce: a cancel published between the claim and now was not heard; the first renewal reads the flag.
    const lease = {
      ms: this.config.builds.leaseSeconds * 1000,
      renew: () => this.renew(build.id),
      renewAtOnce: true,
    };
    return this.leases.hold(build.id, lease, (job) => this.execute(build, job));
  }

  /**
   * Fails (or, when a cancel was asked, cancels) running builds whose lease ran out, and enqueues
   * again queued builds whose job is gone.
   */
  async sweep(): Promise<{ expired: number; requeued: number }> {
    return {
      expired: await this.builds.sweepLapsed((id) => this.expire(id)),
      requeued: await this.reconciler.sweep(QUEUED_BUILDS),
    };
  }

  // ---- one build ------------------------------------------------------------------------------

  private async claim(buildId: string): Promise<ClaimedBuild | null> {
    return this.uow.run(async (tx) => {
      const build = await this.builds.claim(
        buildId,
        this.workerId,
        this.config.builds.leaseSeconds,
        tx.manager,
      );
      if (!build) return null;
      await this.log.append(
        buildId,
        [{ kind: 'status', body: JSON.stringify({ status: 'running', progress: 0 }) }],
        tx,
      );
      await this.outbox.publish(
        tx,
        'build.started',
        { build: mapBuildRow(build, this.config.http.publicBaseUrl) },
        build.project_id,
      );
      return build;
    });
  }

  private async execute(build: ClaimedBuild, job: LeasedJob): Promise<BuildStatus | 'skipped'> {
    const cfg = this.config.builds;
    const stages: BuildStage[] = build.stages.map((s) => ({ ...s }));
    const secrets = [...new Set([...urlSecrets(build.repository_url), ...secretsOf(build.variables)])].sort(
      (a, b) => b.length - a.length,
    );
    const writer = new BuildLogWriter(this.log, build.id, secrets, cfg.maxLogBytes);
    const signal = job.signal;
    let workspace: Workspace | null = null;
    let commitSha: string | null = null;
    let error: string | null = null;
    let artifacts: StoredArtifact[] = [];

    const save = async (i: number) => {
      await writer.drain();
      const current = stages.find((s) => s.status === 'running')?.name ?? null;
      await this.uow.run(async (tx) => {
        const held = await this.builds.saveStages(
          build.id,
          this.workerId,
          { stages, currentStage: current, progress: PROGRESS_OF(stages), commitSha },
          tx.manager,
        );
        if (!held) throw new LeaseLost();
        await this.log.append(build.id, [{ kind: 'stage', body: JSON.stringify(mapStage(stages[i])) }], tx);
      });
    };
    const startedMs = new Map<number, number>();
    const begin = async (i: number) => {
      startedMs.set(i, Date.now());
      stages[i] = { ...stages[i], status: 'running', startedAt: iso(new Date()), commandsDone: 0 };
      await save(i);
    };
    const end = async (i: number, status: StageStatus, reason?: string) => {
      stages[i] = {
        ...stages[i],
        status,
        finishedAt: iso(new Date()),
        durationMs: Date.now() - (startedMs.get(i) ?? Date.now()),
        ...(reason ? { reason } : {}),
      };
      await save(i);
    };
    /** The outcome of a stage stopped by a cancel, a shutdown or a lost lease. */
    const stopped = (): { status: StageStatus; reason: string } =>
      job.reason === 'cancelled'
        ? { status: 'cancelled', reason: 'cancelled' }
        : { status: 'failed', reason: 'the worker shut down during the stage' };

    let status: BuildStatus = 'success';
    try {
      workspace = await Workspace.create(cfg.workspaceRoot, build.id, (...p) => this.sandbox.own(...p));
      const marker = { COCODE_BUILD_ID: build.id };
      const base = { CI: 'true' };

      // checkout
      await begin(0);
      const target = build.commit ?? build.branch;
      writer.write(`$ git clone ${redactUrl(build.repository_url)} && git checkout ${target}\n`);
      const checkout = await cloneAndCheckout({
        sandbox: this.sandbox,
        workspace: workspace.dir,
        url: build.repository_url,
        branch: build.branch,
        commit: build.commit,
        fileRoots: this.config.gitFileRoots,
        env: { ...base, ...marker },
        timeoutMs: cfg.cloneTimeoutSeconds * 1000,
        signal,
        onOutput: (t) => writer.write(t),
        jobId: build.id,
      });
      if (checkout.ok) {
        commitSha = checkout.sha;
        writer.write(`HEAD is now at ${checkout.sha}\n`);
        await end(0, 'success');
      } else if (checkout.outcome === 'aborted') {
        const s = stopped();
        await end(0, s.status, s.reason);
        status = s.status === 'cancelled' ? 'cancelled' : 'failed';
        error = status === 'failed' ? s.reason : null;
      } else {
        writer.write(`\n${checkout.reason}\n`);
        await end(0, 'failed', checkout.reason);
        status = 'failed';
        error = `checkout failed: ${checkout.reason}`;
      }

      for (let i = 1; i < stages.length; i++) {
        const stage = stages[i];
        if (status !== 'success') {
          stages[i] = { ...stage, status: 'skipped' };
          continue;
        }
        if (build.skip_tests && stage.name.toLowerCase() === 'test') {
          stages[i] = { ...stage, status: 'skipped', reason: 'skipTests' };
          writer.write(`\n--- stage ${stage.name}: skipped (skipTests) ---\n`);
          await save(i);
          continue;
        }
        await begin(i);
        writer.write(`\n--- stage ${stage.name} ---\n`);
        const env = {
          ...base,
          ...build.variables,
          ...marker,
          COCODE_PIPELINE_ID: build.pipeline_id,
          COCODE_PROJECT_ID: build.project_id,
          COCODE_BRANCH: build.branch,
          COCODE_COMMIT: commitSha ?? '',
          COCODE_ENVIRONMENT: build.environment ?? '',
          COCODE_STAGE: stage.name,
        };
        const deadline = Date.now() + stage.timeoutSeconds * 1000;
        let failure: { status: StageStatus; reason: string } | null = null;
        for (const [j, command] of stage.commands.entries()) {
          writer.write(`$ ${command}\n`);
          const r: SandboxResult = await this.sandbox.run({
            argv: shell(command),
            workspace: workspace.dir,
            cwd: 'src',
            env,
            network: build.network,
            timeoutMs: Math.max(1, deadline - Date.now()),
            signal,
            onOutput: (t) => writer.write(t),
            jobId: build.id,
          });
          if (r.outcome === 'exited' && r.exitCode === 0) {
            stages[i].commandsDone = j + 1;
            if (j + 1 < stage.commands.length) await save(i);
            continue;
          }
          failure =
            r.outcome === 'timeout'
              ? { status: 'failed', reason: `timed out after ${stage.timeoutSeconds} s` }
              : r.outcome === 'aborted'
                ? stopped()
                : r.outcome === 'limit'
                  ? { status: 'failed', reason: `command ${j + 1}: ${r.reason}` }
                  : r.outcome === 'spawn_error'
                    ? { status: 'failed', reason: `command ${j + 1} could not start: ${r.reason}` }
                    : {
                        status: 'failed',
                        reason:
                          r.exitCode === null
                            ? `command ${j + 1} was killed by ${r.signal}`
                            : `command ${j + 1} exited with code ${r.exitCode}`,
                      };
          break;
        }
        if (failure) {
          writer.write(`\n!! stage ${stage.name} ${failure.status}: ${failure.reason}\n`);
          await end(i, failure.status, failure.reason);
          status = failure.status === 'cancelled' ? 'cancelled' : 'failed';
          if (status === 'failed') error = `stage ${stage.name}: ${failure.reason}`;
        } else {
          await end(i, 'success');
        }
      }

      if (status === 'success' && build.artifact_globs.length) {
        const found = await findArtifacts(workspace.src, build.artifact_globs);
        const result = await storeArtifacts(
          workspace.src,
          found,
          join(cfg.artifactsRoot, build.id),
          cfg.maxArtifactBytes,
        );
        artifacts = result.stored;
        writer.write(
          `\nartifacts: ${artifacts.length ? artifacts.map((a) => `${a.name} (${a.size} bytes)`).join(', ') : 'no file matched'}\n`,
        );
        for (const s of result.skipped)
          writer.write(
            `artifact ${s.path} not kept: over BUILDS_MAX_ARTIFACT_BYTES (${cfg.maxArtifactBytes})\n`,
          );
      }
      await writer.drain();
      return await this.finish(build, stages, status, error, commitSha, artifacts);
    } catch (err) {
      if (err instanceof LeaseLost || job.reason === 'lost') {
        this.logger.warn({ msg: 'build lease lost: another worker finished it', buildId: build.id });
        await rm(join(cfg.artifactsRoot, build.id), { recursive: true, force: true }).catch(() => undefined);
        return 'failed';
      }
      this.logger.error({ msg: 'build failed unexpectedly', buildId: build.id, err });
      await writer.drain().catch(() => undefined);
      for (const s of stages)
        if (s.status === 'running' || s.status === 'pending')
          s.status = s.status === 'running' ? 'failed' : 'skipped';
      return this.finish(
        build,
        stages,
        'failed',
        `internal error: ${(err as Error).message}`,
        commitSha,
        [],
      ).catch((e: Error) => {
        this.logger.error(`could not record the failure of ${build.id} (the sweep will): ${e.message}`);
        return 'failed' as const;
      });
    } finally {
      await workspace
        ?.remove()
        .catch((err: Error) => this.logger.warn(`workspace not removed: ${err.message}`));
    }
  }

  private async finish(
    build: ClaimedBuild,
    stages: BuildStage[],
    status: BuildStatus,
    error: string | null,
    commitSha: string | null,
    artifacts: StoredArtifact[],
  ): Promise<BuildStatus> {
    const done = await this.uow.run(async (tx) => {
      const row = await this.builds.finish(
        build.id,
        this.workerId,
        { status, progress: PROGRESS_OF(stages), stages, artifacts, error, commitSha },
        tx.manager,
      );
      if (!row) return null;
      await this.log.append(
        build.id,
        [{ kind: 'status', body: JSON.stringify({ status, progress: row.progress, error }) }],
        tx,
      );
      await this.outbox.publish(
        tx,
        'build.completed',
        { build: mapBuildRow(row, this.config.http.publicBaseUrl) },
        row.project_id,
      );
      return row;
    });
    if (!done) throw new LeaseLost();
    return status;
  }

  /** Renews the lease; the build stops when the lease is gone or a cancel was asked. */
  private async renew(buildId: string): Promise<Renewal> {
    const lease = await this.builds.renew(buildId, this.workerId, this.config.builds.leaseSeconds);
    return !lease ? 'lost' : lease.cancel ? 'cancelled' : 'held';
  }

  private async expire(buildId: string): Promise<boolean> {
    const result = await this.uow.run(async (tx) => {
      const row = await this.builds.lockLapsed(buildId, tx.manager);
      if (!row) return null;
      const now = new Date();
      const reason = `the worker running the build stopped (${row.locked_by ?? 'unknown'}): its lease expired`;
      const stages = row.stages.map((s): BuildStage => {
        if (s.status === 'pending') return { ...s, status: 'skipped' };
        if (s.status !== 'running') return s;
        const started = s.startedAt ? new Date(s.startedAt).getTime() : now.getTime();
        return {
          ...s,
          status: row.cancel ? 'cancelled' : 'failed',
          finishedAt: iso(now),
          durationMs: now.getTime() - started,
          reason: row.cancel ? 'cancelled' : reason,
        };
      });
      const status: BuildStatus = row.cancel ? 'cancelled' : 'failed';
      const updated = await this.builds.expire(
        buildId,
        { status, progress: PROGRESS_OF(stages), stages, error: row.cancel ? null : reason },
        tx.manager,
      );
      await this.log.append(
        buildId,
        [
          { kind: 'log', body: `\n!! ${reason}\n` },
          { kind: 'status', body: JSON.stringify({ status, progress: updated.progress, error: reason }) },
        ],
        tx,
      );
      await this.outbox.publish(
        tx,
        'build.completed',
        { build: mapBuildRow(updated, this.config.http.publicBaseUrl) },
        updated.project_id,
      );
      return row;
    });
    if (!result) return false;
    this.logger.warn({ msg: 'build failed: its worker stopped', buildId, worker: result.locked_by });
    // A worker killed with SIGKILL took its sandboxes with it but left its workspace behind; on this host, clean up.
    if (onThisHost(result.locked_by)) {
      await Workspace.at(this.config.builds.workspaceRoot, buildId)
        .remove()
        .catch(() => undefined);
    }
    return true;
  }
}
