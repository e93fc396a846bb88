import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
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
  Sql,
  Tx,
  UnitOfWork,
} from '@app/core';
import { JobLeases, LeasedJob, Renewal, sweepLapsed } from '@app/runner';
import { DataSource } from 'typeorm';
import { DeploymentRow, DeploymentStepRow, DEPLOYMENT_COLUMNS } from './deployment.dto';
import { Colour, nextMove, PlannedStep, planFor, StepState } from './deployment-plan';
import { deploymentView } from './deployment-views';
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

const STEP_COLUMNS = `deployment_id, position, name, action, phase, percent, colour, version, status, attempts, output, error, started_at, finished_at`;

/** Deployments whose worker stopped renewing their lease: the sweep has them resumed. */
const LAPSED_DEPLOYMENTS = { table: 'deployments', running: 'in_progress', limit: 100 };

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
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly sql: Sql,
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
      const [next]: Array<Pick<DeploymentRow, 'id' | 'version' | 'strategy'>> = await tx.manager.query(
        `SELECT q.id, q.version, q.strategy FROM deployments q
          WHERE q.application_id = $1 AND q.environment = $2 AND q.status = 'queued'
            AND NOT EXISTS (SELECT 1 FROM deployments r
                             WHERE r.application_id = $1 AND r.environment = $2 AND r.status = 'in_progress')
          ORDER BY q.rollback_of IS NOT NULL DESC, q.queued_at, q.id LIMIT 1 FOR UPDATE OF q`,
        [applicationId, environment],
      );
      if (!next) return null;
      await tx.manager.query(
        `UPDATE deployments SET status = 'in_progress', started_at = now(), previous_version = $2, previous_colour = $3,
                runs = 1, lease_token = $4, locked_until = now() + make_interval(secs => $5), updated_at = now()
          WHERE id = $1`,
        [next.id, live.version, live.colour, token, cfg.leaseSeconds],
      );
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
    const claimed: [unknown[], number] = await this.dataSource.query(
      `UPDATE deployments SET runs = runs + 1, lease_token = $2, locked_until = now() + make_interval(secs => $3), updated_at = now()
        WHERE id = $1 AND status = 'in_progress' AND locked_until < now() RETURNING id`,
      [deploymentId, token, this.config.deployments.leaseSeconds],
    );
    if (!claimed[0].length) return false;
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
    const resumed = await sweepLapsed(this.sql, LAPSED_DEPLOYMENTS, async (id) => {
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
    const [row]: Array<{ application_id: string; environment: string }> = await tx.manager.query(
      `SELECT application_id, environment FROM deployments WHERE id = $1 AND status = 'queued'`,
      [deploymentId],
    );
    if (!row) return null;
    const env = [row.application_id, row.environment];
    // The lock start and finish take: nothing starts or ends there while the job is looked for.
    await tx.manager.query(
      `INSERT INTO application_environments (application_id, environment) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
      env,
    );
    const [locked]: unknown[] = await tx.manager.query(
      `SELECT 1 FROM application_environments WHERE application_id = $1 AND environment = $2 FOR UPDATE SKIP LOCKED`,
      env,
    );
    if (!locked) return null;
    const queued: Array<{ id: string }> = await tx.manager.query(
      `SELECT id FROM deployments WHERE application_id = $1 AND environment = $2 AND status = 'queued'
        ORDER BY rollback_of IS NOT NULL DESC, queued_at, id LIMIT 20`,
      env,
    );
    if (queued[0]?.id !== deploymentId) return null;
    // The one running there enqueues the start when it finishes; one that just did may not be relayed yet.
    const [last]: Array<{ id: string; running: boolean; recent: boolean }> = await tx.manager.query(
      `SELECT id, status = 'in_progress' AS running, finished_at > now() - make_interval(secs => $3) AS recent
         FROM deployments WHERE application_id = $1 AND environment = $2 AND started_at IS NOT NULL
        ORDER BY status = 'in_progress' DESC, finished_at DESC NULLS LAST LIMIT 1`,
      [...env, this.config.queues.reconcileAfterSeconds],
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
            await tx.manager.query(
              `UPDATE deployment_steps SET status = 'skipped' WHERE deployment_id = $1 AND name = ANY($2)`,
              [deploymentId, move.skip],
            );
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
      const [[marked]]: [Array<{ attempts: number }>, number] = await this.dataSource.query(
        `UPDATE deployment_steps s SET status = 'running', attempts = s.attempts + 1, started_at = ${i === 1 ? 'now()' : 's.started_at'},
                finished_at = NULL, error = NULL
           FROM deployments d
          WHERE s.deployment_id = $1 AND s.name = $2 AND d.id = s.deployment_id AND d.lease_token = $3
          RETURNING s.attempts`,
        [ctx.deployment.id, step.name, ctx.token],
      );
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
    const [[recorded]]: [unknown[], number] = await this.dataSource.query(
      `UPDATE deployment_steps s SET status = $4, finished_at = now(), output = $5, error = $6
         FROM deployments d
        WHERE s.deployment_id = $1 AND s.name = $2 AND d.id = s.deployment_id AND d.lease_token = $3
        RETURNING 1`,
      [
        ctx.deployment.id,
        step.name,
        ctx.token,
        outcome.ok ? 'succeeded' : 'failed',
        outcome.output || null,
        error,
      ],
    );
    if (!recorded) throw new LeaseLost(ctx.deployment.id);
  }

  /** Too many lost workers: the step they died in fails, and the deployment ends (restoring if needed). */
  private async abandon(ctx: RunContext): Promise<void> {
    const message = `the worker running it was lost ${ctx.deployment.runs - 1} times`;
    await this.uow.run(async (tx) => {
      await this.assertLease(tx, ctx);
      await tx.manager.query(
        `UPDATE deployment_steps SET status = 'failed', finished_at = now(), error = $2
          WHERE deployment_id = $1 AND position = (
            SELECT position FROM deployment_steps WHERE deployment_id = $1 AND status IN ('running', 'pending')
             ORDER BY status = 'running' DESC, position LIMIT 1)`,
        [ctx.deployment.id, message],
      );
    });
    this.logger.warn({ msg: 'failing a deployment', deploymentId: ctx.deployment.id, reason: message });
  }

  private async finish(ctx: RunContext, outcome: 'succeeded' | 'failed', steps: StepRecord[]): Promise<void> {
    const d = ctx.deployment;
    await this.uow.run(async (tx) => {
      await this.lockEnvironment(tx, d.application_id, d.environment);
      const [updated]: [unknown[], number] = await tx.manager.query(
        `UPDATE deployments SET status = $3, failure_reason = $4, finished_at = now(), lease_token = NULL,
                locked_until = NULL, updated_at = now()
          WHERE id = $1 AND lease_token = $2 AND status = 'in_progress' RETURNING id`,
        [d.id, ctx.token, outcome, outcome === 'failed' ? failureReason(steps) : null],
      );
      if (!updated.length) throw new LeaseLost(d.id);
      if (outcome === 'succeeded') {
        const switched = steps.find((s) => s.phase === 'rollout' && s.action === 'switch')?.colour ?? null;
        await tx.manager.query(
          `UPDATE application_environments
              SET live_version = $3, live_colour = COALESCE($4, live_colour), live_deployment_id = $5, updated_at = now()
            WHERE application_id = $1 AND environment = $2`,
          [d.application_id, d.environment, d.version, switched, d.id],
        );
      }
      const view = await deploymentView((text, values) => tx.manager.query(text, values), d.id);
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
      const [waiting] = await tx.manager.query(
        `SELECT 1 FROM deployments WHERE application_id = $1 AND environment = $2 AND status = 'queued' LIMIT 1`,
        [d.application_id, d.environment],
      );
      if (waiting)
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
    const [deployment]: DeploymentRow[] = await this.dataSource.query(
      `SELECT ${DEPLOYMENT_COLUMNS} FROM deployments d WHERE d.id = $1 AND d.lease_token = $2`,
      [deploymentId, token],
    );
    if (!deployment) throw new LeaseLost(deploymentId);
    const [app]: Array<{
      id: string;
      name: string;
      target_type: string;
      target_config: Record<string, unknown>;
      target_secret: string | null;
    }> = await this.dataSource.query(
      `SELECT id, name, target_type, target_config, target_secret FROM applications WHERE id = $1`,
      [deployment.application_id],
    );
    return {
      deployment,
      application: { id: app.id, name: app.name },
      target: { type: app.target_type, config: app.target_config, secret: app.target_secret },
      token,
      signal,
    };
  }

  private async steps(deploymentId: string): Promise<StepRecord[]> {
    const rows: DeploymentStepRow[] = await this.dataSource.query(
      `SELECT ${STEP_COLUMNS} FROM deployment_steps WHERE deployment_id = $1 ORDER BY position`,
      [deploymentId],
    );
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
    await tx.manager.query(
      `INSERT INTO deployment_steps (deployment_id, position, name, action, phase, percent, colour, version, status)
       SELECT $1, $2 + s.ord, s.name, s.action, s.phase, s.percent, s.colour, s.version, 'pending'
         FROM unnest($3::varchar[], $4::varchar[], $5::varchar[], $6::int[], $7::varchar[], $8::varchar[])
              WITH ORDINALITY AS s(name, action, phase, percent, colour, version, ord)`,
      [
        deploymentId,
        from,
        steps.map((s) => s.name),
        steps.map((s) => s.action),
        steps.map((s) => s.phase),
        steps.map((s) => s.percent),
        steps.map((s) => s.colour),
        steps.map((s) => s.version),
      ],
    );
  }

  /** The environment's row, locked: it serialises starting and finishing there. */
  private async lockEnvironment(
    tx: Tx,
    applicationId: string,
    environment: string,
  ): Promise<{ version: string | null; colour: Colour | null }> {
    await tx.manager.query(
      `INSERT INTO application_environments (application_id, environment) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
      [applicationId, environment],
    );
    const [row]: Array<{ live_version: string | null; live_colour: Colour | null }> = await tx.manager.query(
      `SELECT live_version, live_colour FROM application_environments WHERE application_id = $1 AND environment = $2 FOR UPDATE`,
      [applicationId, environment],
    );
    return { version: row.live_version, colour: row.live_colour };
  }

  private async assertLease(tx: Tx, ctx: RunContext): Promise<void> {
    const [held] = await tx.manager.query(
      `SELECT 1 FROM deployments WHERE id = $1 AND lease_token = $2 FOR UPDATE`,
      [ctx.deployment.id, ctx.token],
    );
    if (!held) throw new LeaseLost(ctx.deployment.id);
  }

  private async renew(deploymentId: string, token: string): Promise<Renewal> {
    const [rows]: [unknown[], number] = await this.dataSource.query(
      `UPDATE deployments SET locked_until = now() + make_interval(secs => $3)
        WHERE id = $1 AND lease_token = $2 AND status = 'in_progress' RETURNING id`,
      [deploymentId, token, this.config.deployments.leaseSeconds],
    );
    return rows.length ? 'held' : 'lost';
  }

  private async release(deploymentId: string, token: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE deployments SET locked_until = now() - interval '1 second' WHERE id = $1 AND lease_token = $2 AND status = 'in_progress'`,
      [deploymentId, token],
    );
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
