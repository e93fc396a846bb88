import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import {
  AppConfig,
  iso,
  LiveEvents,
  OutboxService,
  QueueReconciler,
  redactUrl,
  UnitOfWork,
  urlSecrets,
} from '@app/core';
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
import { ProjectsService, RepositoryCredentials } from '@app/projects';
import { FileStore } from '@app/storage';
import { randomBytes } from 'node:crypto';
import { buildArtifactKey, buildArtifactsPrefix } from './artifact-keys';
import { mapStage, WORKER_STOPPED } from './build.dto';
import { mapBuildRow } from './build.rows';
import { BuildStage, BuildStatus, StageStatus, StoredArtifact } from './build.entity';
import { BuildLogWriter } from './build-log-writer';
import { BuildLogService } from './build-log.service';
import { BuildSlots } from './build-slots';
import { BuildsRepository, ClaimedBuild, QUEUED_BUILDS } from './builds.repository';
import { BUILD_CANCEL_CHANNEL } from './builds.service';
import { buildProgress } from './queue-estimate';
import { secretsOf } from './secret-masker';
import { buildSecrets, commandFailure, StageFailure, stoppedStage } from './stage-outcome';

class LeaseLost extends Error {}

const PROGRESS_OF = (stages: BuildStage[]) => buildProgress(stages.map(mapStage));

/** The environment of the checkout and of every command, under the build's variables. */
const BASE_ENV = { CI: 'true' };

/** One build as its worker runs it: what the steps of execute share and update. */
interface RunningBuild {
  readonly build: ClaimedBuild;
  readonly job: LeasedJob;
  readonly stages: BuildStage[];
  readonly writer: BuildLogWriter;
  /** When each stage started (Date.now()), by index. */
  readonly startedMs: Map<number, number>;
  status: BuildStatus;
  error: string | null;
  commitSha: string | null;
  artifacts: StoredArtifact[];
  /** This run's artifacts lie under builds/<id>/<attempt>: stored before the build row names them. */
  readonly attempt: string;
  /** The project's repository credentials in clear, for the clone only (masked in the log). */
  readonly credentials: RepositoryCredentials | null;
}

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
    private readonly files: FileStore,
    private readonly projects: ProjectsService,
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

  /** Runs a claimed build to its end: the checkout, the stages, the artifacts, then its record. */
  private async execute(build: ClaimedBuild, job: LeasedJob): Promise<BuildStatus | 'skipped'> {
    const project = await this.projectCredentials(build);
    const run = this.prepare(build, job, project.credentials);
    if (project.note) run.writer.write(`${project.note}\n`);
    let workspace: Workspace | null = null;
    try {
      workspace = await Workspace.create(this.config.builds.workspaceRoot, build.id, (...p) =>
        this.sandbox.own(...p),
      );
      await this.checkout(run, workspace);
      await this.runStages(run, workspace);
      await this.collectArtifacts(run, workspace);
      await run.writer.drain();
      return await this.finish(build, run.stages, run.status, run.error, run.commitSha, run.artifacts);
    } catch (err) {
      if (err instanceof LeaseLost || job.reason === 'lost') return await this.abandon(run);
      await this.stopOnError(run, err);
      // Not awaited: the workspace is removed while the failure is recorded.
      return this.recordError(run, err);
    } finally {
      await workspace
        ?.remove()
        .catch((err: Error) => this.logger.warn(`workspace not removed: ${err.message}`));
    }
  }

  /** What the steps of one build share: a copy of its stages and a log writer masking its secrets. */
  private prepare(
    build: ClaimedBuild,
    job: LeasedJob,
    credentials: RepositoryCredentials | null,
  ): RunningBuild {
    const tokens = credentials ? [credentials.token, encodeURIComponent(credentials.token)] : [];
    const secrets = buildSecrets(
      [...urlSecrets(build.repository_url), ...tokens],
      secretsOf(build.variables),
    );
    return {
      build,
      job,
      stages: build.stages.map((s) => ({ ...s })),
      writer: new BuildLogWriter(this.log, build.id, secrets, this.config.builds.maxLogBytes),
      startedMs: new Map(),
      status: 'success',
      error: null,
      commitSha: null,
      artifacts: [],
      attempt: `${randomBytes(6).toString('hex')}/`,
      credentials,
    };
  }

  /**
   * For a build whose URL came from its project: the project's credentials as they are now, when
   * the project's URL is still the build's (a token never goes to another URL). Never throws: a
   * checkout without them fails on a private repository, and says why in `note`.
   */
  private async projectCredentials(
    build: ClaimedBuild,
  ): Promise<{ credentials: RepositoryCredentials | null; note: string | null }> {
    if (!build.project_credentials) return { credentials: null, note: null };
    try {
      const repo = await this.projects.repositoryAccess(build.project_id);
      if (repo?.credentials && repo.url === build.repository_url)
        return { credentials: repo.credentials, note: null };
      return {
        credentials: null,
        note: "the project's repository changed since the trigger: cloning without credentials",
      };
    } catch (err) {
      // The message only: nothing of the key or the sealed value.
      this.logger.warn({
        msg: 'project repository credentials unusable',
        buildId: build.id,
        reason: (err as Error).message,
      });
      return {
        credentials: null,
        note: "the project's repository credentials cannot be decrypted (SECRETS_ENCRYPTION_KEY changed?): cloning without them",
      };
    }
  }

  /** Stage 0: clones the repository and checks out the build's commit or branch. */
  private async checkout(run: RunningBuild, workspace: Workspace): Promise<void> {
    const { build, writer } = run;
    await this.beginStage(run, 0);
    const target = build.commit ?? build.branch;
    writer.write(`$ git clone ${redactUrl(build.repository_url)} && git checkout ${target}\n`);
    const checkout = await cloneAndCheckout({
      sandbox: this.sandbox,
      workspace: workspace.dir,
      url: build.repository_url,
      branch: build.branch,
      commit: build.commit,
      fileRoots: this.config.gitFileRoots,
      env: { ...BASE_ENV, COCODE_BUILD_ID: build.id },
      timeoutMs: this.config.builds.cloneTimeoutSeconds * 1000,
      signal: run.job.signal,
      onOutput: (t) => writer.write(t),
      jobId: build.id,
      credentials: run.credentials && { username: run.credentials.username, password: run.credentials.token },
    });
    if (checkout.ok) {
      run.commitSha = checkout.sha;
      writer.write(`HEAD is now at ${checkout.sha}\n`);
      await this.endStage(run, 0, 'success');
    } else if (checkout.outcome === 'aborted') {
      const s = stoppedStage(run.job.reason);
      await this.endStage(run, 0, s.status, s.reason);
      run.status = s.status === 'cancelled' ? 'cancelled' : 'failed';
      run.error = run.status === 'failed' ? s.reason : null;
    } else {
      writer.write(`\n${checkout.reason}\n`);
      await this.endStage(run, 0, 'failed', checkout.reason);
      run.status = 'failed';
      run.error = `checkout failed: ${checkout.reason}`;
    }
  }

  /** The pipeline's stages in order; once one did not succeed, the rest are skipped. */
  private async runStages(run: RunningBuild, workspace: Workspace): Promise<void> {
    for (let i = 1; i < run.stages.length; i++) {
      const stage = run.stages[i];
      if (run.status !== 'success') {
        run.stages[i] = { ...stage, status: 'skipped' };
        continue;
      }
      if (run.build.skip_tests && stage.name.toLowerCase() === 'test') {
        run.stages[i] = { ...stage, status: 'skipped', reason: 'skipTests' };
        run.writer.write(`\n--- stage ${stage.name}: skipped (skipTests) ---\n`);
        await this.saveStage(run, i);
        continue;
      }
      await this.runStage(run, workspace, i);
    }
  }

  /** Stage i's commands in turn, each in the sandbox, until one fails or the stage's time is up. */
  private async runStage(run: RunningBuild, workspace: Workspace, i: number): Promise<void> {
    const { build, writer } = run;
    const stage = run.stages[i];
    await this.beginStage(run, i);
    writer.write(`\n--- stage ${stage.name} ---\n`);
    const env = {
      ...BASE_ENV,
      ...build.variables,
      COCODE_BUILD_ID: build.id,
      COCODE_PIPELINE_ID: build.pipeline_id,
      COCODE_PROJECT_ID: build.project_id,
      COCODE_BRANCH: build.branch,
      COCODE_COMMIT: run.commitSha ?? '',
      COCODE_ENVIRONMENT: build.environment ?? '',
      COCODE_STAGE: stage.name,
    };
    const deadline = Date.now() + stage.timeoutSeconds * 1000;
    let failure: StageFailure | null = null;
    for (const [j, command] of stage.commands.entries()) {
      writer.write(`$ ${command}\n`);
      const r: SandboxResult = await this.sandbox.run({
        argv: shell(command),
        workspace: workspace.dir,
        cwd: 'src',
        env,
        network: build.network,
        timeoutMs: Math.max(1, deadline - Date.now()),
        signal: run.job.signal,
        onOutput: (t) => writer.write(t),
        jobId: build.id,
      });
      failure = commandFailure(r, j, stage.timeoutSeconds, stoppedStage(run.job.reason));
      if (failure) break;
      run.stages[i].commandsDone = j + 1;
      if (j + 1 < stage.commands.length) await this.saveStage(run, i);
    }
    if (failure) {
      writer.write(`\n!! stage ${stage.name} ${failure.status}: ${failure.reason}\n`);
      await this.endStage(run, i, failure.status, failure.reason);
      run.status = failure.status === 'cancelled' ? 'cancelled' : 'failed';
      if (run.status === 'failed') run.error = `stage ${stage.name}: ${failure.reason}`;
    } else {
      await this.endStage(run, i, 'success');
    }
  }

  /** After a successful build: streams the files matching the pipeline's artifact globs into the file store. */
  private async collectArtifacts(run: RunningBuild, workspace: Workspace): Promise<void> {
    const { build, writer } = run;
    const cfg = this.config.builds;
    if (!['success', 'failed'].includes(run.status) || !build.artifact_globs.length) return;
    // A failed build keeps its test reports (the .xml files among its artifacts) and nothing else:
    // they say what failed, to a person or to the code agent that repairs it.
    const found = (await findArtifacts(workspace.src, build.artifact_globs)).filter(
      (f) => run.status === 'success' || /\.xml$/i.test(f.path),
    );
    const result = await storeArtifacts(
      workspace.src,
      found,
      (file, body, size) => this.files.put(buildArtifactKey(build.id, file), body, { size }),
      cfg.maxArtifactBytes,
      run.attempt,
    );
    run.artifacts = result.stored;
    writer.write(
      `\nartifacts: ${run.artifacts.length ? run.artifacts.map((a) => `${a.name} (${a.size} bytes)`).join(', ') : 'no file matched'}\n`,
    );
    for (const s of result.skipped)
      writer.write(`artifact ${s.path} not kept: over BUILDS_MAX_ARTIFACT_BYTES (${cfg.maxArtifactBytes})\n`);
  }

  /** Removes what collectArtifacts of this run stored, for a build recorded without them. */
  private async discardArtifacts(run: RunningBuild): Promise<void> {
    await this.files
      .deletePrefix(buildArtifactKey(run.build.id, run.attempt))
      .catch((err: Error) => this.logger.warn(`artifacts of ${run.build.id} not removed: ${err.message}`));
  }

  /** After losing the lease: the build is left to whoever finished it. */
  private async abandon(run: RunningBuild): Promise<BuildStatus> {
    this.logger.warn({ msg: 'build lease lost: another worker finished it', buildId: run.build.id });
    await this.discardArtifacts(run);
    return 'failed';
  }

  /** After an unexpected error: the log so far is stored, the running stage failed, the pending ones skipped. */
  private async stopOnError(run: RunningBuild, err: unknown): Promise<void> {
    this.logger.error({ msg: 'build failed unexpectedly', buildId: run.build.id, err });
    await run.writer.drain().catch(() => undefined);
    // Recorded next with no artifacts: whatever this run stored is nobody's.
    await this.discardArtifacts(run);
    for (const s of run.stages)
      if (s.status === 'running' || s.status === 'pending')
        s.status = s.status === 'running' ? 'failed' : 'skipped';
  }

  /** Fails the build as an internal error; if even that cannot be recorded, the sweep will. */
  private recordError(run: RunningBuild, err: unknown): Promise<BuildStatus> {
    const { build } = run;
    return this.finish(
      build,
      run.stages,
      'failed',
      `internal error: ${(err as Error).message}`,
      run.commitSha,
      [],
    ).catch((e: Error) => {
      this.logger.error(`could not record the failure of ${build.id} (the sweep will): ${e.message}`);
      return 'failed' as const;
    });
  }

  /** Stage i starts now. */
  private async beginStage(run: RunningBuild, i: number): Promise<void> {
    run.startedMs.set(i, Date.now());
    run.stages[i] = { ...run.stages[i], status: 'running', startedAt: iso(new Date()), commandsDone: 0 };
    await this.saveStage(run, i);
  }

  /** Stage i ended now with `status`. */
  private async endStage(run: RunningBuild, i: number, status: StageStatus, reason?: string): Promise<void> {
    run.stages[i] = {
      ...run.stages[i],
      status,
      finishedAt: iso(new Date()),
      durationMs: Date.now() - (run.startedMs.get(i) ?? Date.now()),
      ...(reason ? { reason } : {}),
    };
    await this.saveStage(run, i);
  }

  /**
   * Stores the stages and announces stage i, after the log written so far; LeaseLost when this
   * worker no longer holds the build.
   */
  private async saveStage(run: RunningBuild, i: number): Promise<void> {
    await run.writer.drain();
    const current = run.stages.find((s) => s.status === 'running')?.name ?? null;
    await this.uow.run(async (tx) => {
      const held = await this.builds.saveStages(
        run.build.id,
        this.workerId,
        {
          stages: run.stages,
          currentStage: current,
          progress: PROGRESS_OF(run.stages),
          commitSha: run.commitSha,
        },
        tx.manager,
      );
      if (!held) throw new LeaseLost();
      await this.log.append(
        run.build.id,
        [{ kind: 'stage', body: JSON.stringify(mapStage(run.stages[i])) }],
        tx,
      );
    });
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
      const reason = `${WORKER_STOPPED} (${row.locked_by ?? 'unknown'}): its lease expired`;
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
    // A running build names no artifacts: any stored under it were left by the worker that stopped.
    await this.files
      .deletePrefix(buildArtifactsPrefix(buildId))
      .catch((err: Error) => this.logger.warn(`artifacts of ${buildId} not removed: ${err.message}`));
    // A worker killed with SIGKILL took its sandboxes with it but left its workspace behind; on this host, clean up.
    if (onThisHost(result.locked_by)) {
      await Workspace.at(this.config.builds.workspaceRoot, buildId)
        .remove()
        .catch(() => undefined);
    }
    return true;
  }
}
