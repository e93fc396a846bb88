import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import {
  AppConfig,
  jobIdFor,
  JobNeed,
  newSecret,
  OutboxService,
  QueuedRows,
  QueueName,
  QueueReconciler,
  QueueRegistry,
  Tx,
  UnitOfWork,
} from '@app/core';
import { JobLeases, LeasedJob, Renewal } from '@app/runner';
import { ApplicationsRepository, LiveVersion } from './applications.repository';
import { DeploymentRow } from './deployment.dto';
import { nextMove, PlannedStep, planFor, StepState } from './deployment-plan';
import { DeploymentsRepository } from './deployments.repository';
import { StepOutcome, StoredTarget } from './targets/deploy-target';
import { DeployTargets } from './targets/deploy-targets';

/** The runner no longer holds the deployment's lease (another worker took it over). */
class LeaseLost extends Error {
  constructor(deploymentId: string) {
    super(`lost the lease of ${deploymentId}`);
    this.name = 'LeaseLost';
  }
}

interface RunContext {
  deployment: DeploymentRow;
  application: { id: string; name: string };
  target: StoredTarget;
  token: string;
  signal: AbortSignal;
}

/** A step as recorded, with why it failed. */
type StepRecord = StepState & { error: string | null };

/**
 * The worker side of deployments. One deployment at a time per application and environment:
 * `start` takes the oldest queued one (rollbacks first) under the application_environments row
 * lock. A running deployment holds a lease, renewed while it runs; every write of its steps
 * checks the lease, so a worker that lost it stops. A worker that dies lets the lease lapse and
 * the sweep resumes the deployment from its recorded steps (the step left running runs again);
 * after DEPLOY_MAX_RESUMES lost workers it is failed instead, never left in_progress.
 */
@Injectable()
export class DeploymentRunner implements OnModuleDestroy {
  private readonly logger = new Logger(DeploymentRunner.name);
  private readonly leases = new JobLeases('deployment', this.logger);

  constructor(
    private readonly deployments: DeploymentsRepository,
    private readonly applications: ApplicationsRepository,
    private readonly uow: UnitOfWork,
    private readonly outbox: OutboxService,
    private readonly queues: QueueRegistry,
    private readonly targets: DeployTargets,
    private readonly config: AppConfig,
    private readonly reconciler: QueueReconciler,
  ) {}

  /**
   * Queued deployments wait (pending_approval ones wait for people, not jobs) for a
   * `deployment.start` of their environment while nothing runs there: the one enqueued when the
   * deployment was queued (keyed by its id) or when the last one there finished (keyed
   * `<id>-done`). The environment's next deployment speaks for it.
   */
  private readonly queued: QueuedRows<'deployment.start'> = {
    table: 'deployments',
    since: 'queued_at',
    job: 'deployment.start',
    need: (tx, id) => this.startNeeded(tx, id),
  };

  /** In the worker: the sweep that resumes deployments of lost workers and starts queued ones whose start was lost. */
  startSweeping(): void {
    void this.leases.sweepEvery(this.config.deployments.sweepIntervalMs, () => this.sweep());
  }

  /** Starts the next queued deployment of the application in the environment, unless one runs there. */
  async start(applicationId: string, environment: string): Promise<string | null> {
    this.leases.assertRunning();
    const cfg = this.config.deployments;
    const token = newSecret(16);
    const id = await this.uow.run(async (tx) => {
      const live = await this.lockEnvironment(tx, applicationId, environment);
      const next = await this.deployments.nextQueued(tx.manager, applicationId, environment);
      if (!next) return null;
      await this.deployments.markStarted(tx.manager, next.id, live, token, cfg.leaseSeconds);
      const plan = planFor(next.strategy, {
        version: next.version,
        rollingBatches: cfg.rollingBatches,
        liveColour: live.colour,
      });
      await this.insertSteps(tx, next.id, 0, plan);
      return next.id;
    });
    if (id) await this.execute(id, token);
    return id;
  }

  /** Takes over a running deployment whose lease lapsed; false when someone holds it or it ended. */
  async resume(deploymentId: string): Promise<boolean> {
    this.leases.assertRunning();
    const token = newSecret(16);
    if (!(await this.deployments.claimLapsed(deploymentId, token, this.config.deployments.leaseSeconds)))
      return false;
    this.logger.warn({ msg: 'resuming a deployment whose worker was lost', deploymentId });
    await this.execute(deploymentId, token);
    return true;
  }

  /**
   * Resumes deployments whose lease lapsed, and enqueues again the start of queued ones whose
   * start job is gone (nothing running in their environment for a while). Duplicate jobs are
   * harmless: start and resume decide under locks.
   */
  async sweep(): Promise<{ resumed: number; started: number }> {
    const queue = this.queues.get(QueueName.Deployments);
    // Deployments whose worker stopped renewing their lease are resumed.
    const resumed = await this.deployments.sweepLapsed(async (id) => {
      await queue.add('deployment.resume', { deploymentId: id });
      return true;
    });
    return { resumed, started: await this.reconciler.sweep(this.queued) };
  }

  /** On shutdown: stop the steps in flight and hand their deployments back (the lease lapses at once). */
  async onModuleDestroy(): Promise<void> {
    await this.leases.shutdown();
  }

  /** The start a queued deployment needs, if it is its environment's next and nothing runs or just ended there. */
  private async startNeeded(tx: Tx, deploymentId: string): Promise<JobNeed<'deployment.start'> | null> {
    const row = await this.deployments.queuedEnvironment(tx.manager, deploymentId);
    if (!row) return null;
    const env = [row.application_id, row.environment] as const;
    // The lock start and finish take: nothing starts or ends there while the job is looked for.
    await this.applications.ensureEnvironment(tx.manager, ...env);
    if (!(await this.applications.tryLockEnvironment(tx.manager, ...env))) return null;
    const queued = await this.deployments.queuedIn(tx.manager, ...env);
    if (queued[0]?.id !== deploymentId) return null;
    // The one running there enqueues the start when it finishes; one that just did may not be relayed yet.
    const last = await this.deployments.lastStarted(
      tx.manager,
      ...env,
      this.config.queues.reconcileAfterSeconds,
    );
    if (last?.running || last?.recent) return null;
    return {
      data: { applicationId: row.application_id, environment: row.environment },
      alsoLive: [
        ...queued.slice(1).map((q) => jobIdFor('deployment.start', q.id)),
        ...(last ? [jobIdFor('deployment.start', `${last.id}-done`)] : []),
      ],
    };
  }

  // ---- running ----------------------------------------------------------------------------------

  private async execute(deploymentId: string, token: string): Promise<void> {
    const lease = {
      ms: this.config.deployments.leaseSeconds * 1000,
      renew: () => this.renew(deploymentId, token),
    };
    await this.leases.hold(deploymentId, lease, (job) => this.drive(deploymentId, token, job));
  }

  private async drive(deploymentId: string, token: string, job: LeasedJob): Promise<void> {
    const cfg = this.config.deployments;
    try {
      const ctx = await this.load(deploymentId, token, job.signal);
      const live = { version: ctx.deployment.previous_version, colour: ctx.deployment.previous_colour };
      if (ctx.deployment.runs > cfg.maxResumes + 1) await this.abandon(ctx);
      for (;;) {
        if (job.signal.aborted) break;
        const steps = await this.steps(deploymentId);
        const move = nextMove(ctx.deployment.strategy, steps, live);
        if (move.kind === 'finish') {
          await this.finish(ctx, move.outcome, steps);
          return;
        }
        if (move.kind === 'abort') {
          await this.uow.run(async (tx) => {
            await this.assertLease(tx, ctx);
            await this.deployments.skipSteps(tx.manager, deploymentId, move.skip);
            if (move.restore) await this.insertSteps(tx, deploymentId, steps.length, [move.restore]);
          });
          continue;
        }
        await this.runStep(ctx, move.step);
      }
      // Stopped (shutdown): leave the step as it is and let the lease lapse now, so a worker resumes at once.
      await this.release(deploymentId, token);
    } catch (err) {
      if (err instanceof LeaseLost || job.reason === 'lost') {
        this.logger.warn({ msg: 'stopped: another worker took the deployment over', deploymentId });
        return;
      }
      await this.release(deploymentId, token).catch(() => undefined);
      throw err;
    }
  }

  private async runStep(ctx: RunContext, step: StepState): Promise<void> {
    const cfg = this.config.deployments;
    const target = this.targets.get(ctx.target.type);
    const tries = step.action === 'health-check' ? cfg.healthCheckAttempts : 1;
    let outcome: StepOutcome = { ok: false, output: '', error: 'not run' };
    for (let i = 1; i <= tries; i++) {
      const marked = await this.deployments.markStepRunning(ctx.deployment.id, step.name, ctx.token, i === 1);
      if (!marked) throw new LeaseLost(ctx.deployment.id);
      if (step.action === 'health-check') {
        // The new version soaks before each check.
        try {
          await sleep(cfg.healthCheckIntervalMs, undefined, { signal: ctx.signal });
        } catch {
          return;
        }
      }
      outcome = await target.execute(
        ctx.target,
        {
          deploymentId: ctx.deployment.id,
          application: ctx.application,
          environment: ctx.deployment.environment,
          strategy: ctx.deployment.strategy,
          step: {
            name: step.name,
            action: step.action,
            percent: step.percent,
            colour: step.colour,
            version: step.version,
          },
          previousVersion: ctx.deployment.previous_version,
          attempt: marked.attempts,
        },
        ctx.signal,
      );
      // Stopped mid-step: its outcome says nothing about the deployment; it runs again on resume.
      if (ctx.signal.aborted) return;
      if (outcome.ok) break;
    }
    const error =
      outcome.ok || tries === 1 ? outcome.error : `failed ${tries} health checks: ${outcome.error}`;
    const recorded = await this.deployments.recordStep(ctx.deployment.id, step.name, ctx.token, {
      status: outcome.ok ? 'succeeded' : 'failed',
      output: outcome.output || null,
      error,
    });
    if (!recorded) throw new LeaseLost(ctx.deployment.id);
  }

  /** Too many lost workers: the step they died in fails, and the deployment ends (restoring if needed). */
  private async abandon(ctx: RunContext): Promise<void> {
    const message = `the worker running it was lost ${ctx.deployment.runs - 1} times`;
    await this.uow.run(async (tx) => {
      await this.assertLease(tx, ctx);
      await this.deployments.failCurrentStep(tx.manager, ctx.deployment.id, message);
    });
    this.logger.warn({ msg: 'failing a deployment', deploymentId: ctx.deployment.id, reason: message });
  }

  private async finish(ctx: RunContext, outcome: 'succeeded' | 'failed', steps: StepRecord[]): Promise<void> {
    const d = ctx.deployment;
    await this.uow.run(async (tx) => {
      await this.applications.lockEnvironment(tx.manager, d.application_id, d.environment);
      const finished = await this.deployments.finish(
        tx.manager,
        d.id,
        ctx.token,
        outcome,
        outcome === 'failed' ? failureReason(steps) : null,
      );
      if (!finished) throw new LeaseLost(d.id);
      if (outcome === 'succeeded') {
        const switched = steps.find((s) => s.phase === 'rollout' && s.action === 'switch')?.colour ?? null;
        await this.applications.setLive(tx.manager, d.application_id, d.environment, {
          version: d.version,
          colour: switched,
          deploymentId: d.id,
        });
      }
      const view = await this.deployments.view(d.id, tx.manager);
      await this.outbox.publish(
        tx,
        outcome === 'succeeded' ? 'deployment.success' : 'deployment.failed',
        {
          deployment: { ...view, steps: view.steps.map(({ output: _output, ...s }) => s) },
          application: ctx.application,
        },
        d.project_id,
      );
      // The next one waiting in this environment.
      if (await this.deployments.hasQueued(tx.manager, d.application_id, d.environment))
        await this.outbox.enqueue(
          tx,
          'deployment.start',
          { applicationId: d.application_id, environment: d.environment },
          { key: `${d.id}-done` },
        );
    });
    this.logger.log({ msg: `deployment ${outcome}`, deploymentId: d.id, version: d.version });
  }

  // ---- storage ------------------------------------------------------------------------------------

  private async load(deploymentId: string, token: string, signal: AbortSignal): Promise<RunContext> {
    const deployment = await this.deployments.leased(deploymentId, token);
    if (!deployment) throw new LeaseLost(deploymentId);
    const app = (await this.applications.target(deployment.application_id))!;
    return {
      deployment,
      application: { id: app.id, name: app.name },
      target: { type: app.target_type, config: app.target_config, secret: app.target_secret },
      token,
      signal,
    };
  }

  private async steps(deploymentId: string): Promise<StepRecord[]> {
    const rows = await this.deployments.steps(deploymentId);
    return rows.map((r) => ({
      name: r.name,
      action: r.action,
      percent: r.percent,
      colour: r.colour,
      version: r.version,
      phase: r.phase,
      status: r.status,
      error: r.error,
    }));
  }

  private async insertSteps(tx: Tx, deploymentId: string, from: number, steps: PlannedStep[]): Promise<void> {
    await this.deployments.insertSteps(tx.manager, deploymentId, from, steps);
  }

  /** The environment's row, locked: it serialises starting and finishing there. */
  private lockEnvironment(tx: Tx, applicationId: string, environment: string): Promise<LiveVersion> {
    return this.applications.lockEnvironment(tx.manager, applicationId, environment);
  }

  private async assertLease(tx: Tx, ctx: RunContext): Promise<void> {
    if (!(await this.deployments.holdsLease(tx.manager, ctx.deployment.id, ctx.token)))
      throw new LeaseLost(ctx.deployment.id);
  }

  private async renew(deploymentId: string, token: string): Promise<Renewal> {
    const held = await this.deployments.renew(deploymentId, token, this.config.deployments.leaseSeconds);
    return held ? 'held' : 'lost';
  }

  private async release(deploymentId: string, token: string): Promise<void> {
    await this.deployments.release(deploymentId, token);
  }
}

/** "step canary-50 failed: exit code 1; restored v1.0.0" */
function failureReason(steps: StepRecord[]): string {
  const failed = steps.find((s) => s.phase === 'rollout' && s.status === 'failed');
  const restore = steps.find((s) => s.phase === 'restore');
  const parts = [failed ? `step ${failed.name} failed: ${failed.error ?? 'unknown error'}` : 'failed'];
  if (restore?.status === 'succeeded') parts.push(`restored ${restore.version}`);
  else if (restore)
    parts.push(`restoring ${restore.version} failed too: ${restore.error ?? 'unknown error'}`);
  return parts.join('; ');
}
