import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import {
  AppConfig,
  JUnitError,
  JUnitReport,
  OutboxService,
  parseJUnit,
  QueueReconciler,
  redactUrl,
  UnitOfWork,
  urlSecrets,
} from '@app/core';
import { maskText } from '@app/pipelines';
import {
  cloneAndCheckout,
  JobLeases,
  LeasedJob,
  onThisHost,
  Renewal,
  Sandbox,
  SandboxResult,
  shell,
  Workspace,
} from '@app/runner';
import { cp, open, realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import { TestRunStatus } from './test-run.entity';
import { mapRunRow } from './test-run.rows';
import { ClaimedRun, QUEUED_RUNS, TestRunsRepository } from './test-runs.repository';
import { exitDescription, interruptedCommand, reportProblem, verdict } from './test-outcome';
import { resolveWorkingDirectory } from './working-directory';

/** The end of the output kept with a run. */
export const LOG_TAIL_CHARS = 8 * 1024;
/** A report older than the run's start (less this slack for coarse file-system clocks) is a leftover, not this run's. */
const MTIME_SLACK_MS = 1000;

interface Outcome {
  status: TestRunStatus;
  exitCode: number | null;
  error: string | null;
  report: JUnitReport | null;
  commitSha: string | null;
}

/** One run as its worker runs it: what the steps of execute share. */
interface RunningTest {
  readonly run: ClaimedRun;
  readonly signal: AbortSignal;
  readonly tail: Tail;
  readonly outcome: Outcome;
}

class LeaseLost extends Error {}

/** The environment of the checkout and the command. */
const baseEnv = (run: ClaimedRun) => ({ CI: 'true', COCODE_RUN_ID: run.id });

/** Keeps the last `max` characters written. */
class Tail {
  private text = '';
  constructor(private readonly max: number) {}
  write = (s: string) => {
    this.text = (this.text + s).slice(-this.max);
  };
  toString(): string {
    return this.text;
  }
}

export type ReportRead =
  { ok: true; xml: string } | { ok: false; reason: 'missing' | 'stale' | 'too_big' | 'outside' };

/** The report the run wrote: inside `cwd` (links resolved), written since the run started, not too big. */
export async function readReport(
  cwd: string,
  reportPath: string,
  since: number,
  maxBytes: number,
): Promise<ReportRead> {
  let real: string;
  try {
    real = await realpath(resolve(cwd, reportPath));
  } catch {
    return { ok: false, reason: 'missing' };
  }
  const root = await realpath(cwd);
  if (!real.startsWith(`${root}/`)) return { ok: false, reason: 'outside' };
  const file = await open(real, 'r');
  try {
    const info = await file.stat();
    if (!info.isFile()) return { ok: false, reason: 'missing' };
    if (info.mtimeMs < since - MTIME_SLACK_MS) return { ok: false, reason: 'stale' };
    if (info.size > maxBytes) return { ok: false, reason: 'too_big' };
    return { ok: true, xml: await file.readFile('utf8') };
  } finally {
    await file.close();
  }
}

/**
 * The worker side of test runs: claims a queued run with a lease (renewed while it runs; a sweep
 * turns runs of dead workers into `error`, and enqueues again queued runs whose job Redis lost),
 * checks the suite's repository out into a fresh workspace or uses its working directory (only
 * inside TESTS_WORKDIR_ROOTS, links resolved), runs the command in the sandbox with TEST_BROWSERS
 * / TEST_PARALLEL / TEST_ENV, and reads the JUnit report it wrote. A working directory is copied into the workspace: the run never writes
 * to it, and sees nothing else of the worker's disk.
 */
@Injectable()
export class TestRunner implements BeforeApplicationShutdown {
  private readonly logger = new Logger(TestRunner.name);
  private readonly leases = new JobLeases('test-run', this.logger);
  readonly workerId = this.leases.workerId;

  constructor(
    private readonly uow: UnitOfWork,
    private readonly runs: TestRunsRepository,
    private readonly outbox: OutboxService,
    private readonly config: AppConfig,
    private readonly sandbox: Sandbox,
    private readonly reconciler: QueueReconciler,
  ) {}

  start(): void {
    void this.leases.sweepEvery(this.config.builds.sweepIntervalMs, () => this.sweep());
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.leases.shutdown();
  }

  async run(runId: string): Promise<TestRunStatus | 'skipped'> {
    this.leases.assertRunning();
    const run = await this.claim(runId);
    if (!run) return 'skipped';
    const lease = { ms: this.config.builds.leaseSeconds * 1000, renew: () => this.renew(run.id) };
    return this.leases.hold(run.id, lease, (job) => this.execute(run, job));
  }

  /** Runs whose worker stopped renewing their lease become `error`; queued ones whose job is gone get one again. */
  async sweep(): Promise<{ expired: number; requeued: number }> {
    return {
      expired: await this.runs.sweepLapsed((id) => this.expire(id)),
      requeued: await this.reconciler.sweep(QUEUED_RUNS),
    };
  }

  private async claim(runId: string): Promise<ClaimedRun | null> {
    return (await this.runs.claim(runId, this.workerId, this.config.builds.leaseSeconds)) ?? null;
  }

  /** Runs a claimed run to its end: its source, the command, its report, then its record. */
  private async execute(run: ClaimedRun, job: LeasedJob): Promise<TestRunStatus | 'skipped'> {
    const t: RunningTest = {
      run,
      signal: job.signal,
      tail: new Tail(LOG_TAIL_CHARS),
      outcome: { status: 'error', exitCode: null, error: null, report: null, commitSha: null },
    };
    let workspace: Workspace | null = null;
    try {
      workspace = await Workspace.create(this.config.builds.workspaceRoot, run.id, (...p) =>
        this.sandbox.own(...p),
      );
      if (await this.prepareSource(t, workspace)) {
        const command = await this.runCommand(t, workspace);
        if (command) await this.readResults(t, workspace.src, command);
      }
      return await this.finish(run, t.outcome, t.tail);
    } catch (err) {
      if (err instanceof LeaseLost || job.reason === 'lost') return 'error';
      this.logger.error({ msg: 'test run failed unexpectedly', runId: run.id, err });
      t.outcome.status = 'error';
      t.outcome.report = null;
      t.outcome.error = `internal error: ${(err as Error).message}`;
      return this.finish(run, t.outcome, t.tail).catch(() => 'error' as const);
    } finally {
      await workspace
        ?.remove()
        .catch((err: Error) => this.logger.warn(`workspace not removed: ${err.message}`));
    }
  }

  /** Puts the suite's files in the workspace: a checkout of its repository, or a copy of its working directory. */
  private async prepareSource(t: RunningTest, workspace: Workspace): Promise<boolean> {
    return t.run.repository_url
      ? this.checkout(t, workspace, t.run.repository_url)
      : this.copyWorkingDirectory(t, workspace);
  }

  /** Clones the suite's repository (its branch, or the default one); false when that failed. */
  private async checkout(t: RunningTest, workspace: Workspace, url: string): Promise<boolean> {
    const { run, tail } = t;
    tail.write(`$ git clone ${redactUrl(url)}\n`);
    const checkout = await cloneAndCheckout({
      sandbox: this.sandbox,
      workspace: workspace.dir,
      url,
      branch: run.branch,
      commit: null,
      fileRoots: this.config.gitFileRoots,
      env: baseEnv(run),
      timeoutMs: this.config.builds.cloneTimeoutSeconds * 1000,
      signal: t.signal,
      onOutput: tail.write,
      jobId: run.id,
    });
    if (!checkout.ok) {
      t.outcome.error = `checkout failed: ${checkout.reason}`;
      return false;
    }
    t.outcome.commitSha = checkout.sha;
    return true;
  }

  /** Copies the working directory (only inside TESTS_WORKDIR_ROOTS, links resolved): the run never writes to it. */
  private async copyWorkingDirectory(t: RunningTest, workspace: Workspace): Promise<boolean> {
    const dir = await resolveWorkingDirectory(
      t.run.working_directory ?? '',
      this.config.tests.workingDirectoryRoots,
    );
    if (!dir.ok) {
      t.outcome.error = `refused: ${dir.reason}`;
      return false;
    }
    // Links are copied as links: inside the sandbox they lead nowhere of the host's.
    await cp(dir.path, workspace.src, {
      recursive: true,
      verbatimSymlinks: true,
      preserveTimestamps: true,
    });
    await this.sandbox.ownTree(workspace.src);
    return true;
  }

  /** Runs the suite's command in the sandbox; null (with the outcome's error) when it did not run to its end. */
  private async runCommand(
    t: RunningTest,
    workspace: Workspace,
  ): Promise<{ result: SandboxResult; since: number } | null> {
    const { run, tail } = t;
    const env: Record<string, string> = {
      ...baseEnv(run),
      COCODE_SUITE_ID: run.suite_id,
      TEST_BROWSERS: run.browsers.join(','),
      TEST_PARALLEL: String(run.parallel),
      ...(run.environment ? { TEST_ENV: run.environment } : {}),
    };
    const since = Date.now();
    tail.write(`$ ${run.command}\n`);
    const result = await this.sandbox.run({
      argv: shell(run.command),
      workspace: workspace.dir,
      cwd: 'src',
      env,
      timeoutMs: run.timeout_seconds * 1000,
      signal: t.signal,
      onOutput: tail.write,
      jobId: run.id,
    });
    t.outcome.exitCode = result.exitCode;
    const interrupted = interruptedCommand(result, run.timeout_seconds);
    if (interrupted) {
      t.outcome.error = interrupted;
      return null;
    }
    return { result, since };
  }

  /** Reads the JUnit report the command wrote (since it started) and judges the run by it and the exit. */
  private async readResults(
    t: RunningTest,
    cwd: string,
    { result: r, since }: { result: SandboxResult; since: number },
  ): Promise<void> {
    const { run, outcome } = t;
    const maxBytes = this.config.tests.maxReportBytes;
    const read = await readReport(cwd, run.report_path, since, maxBytes);
    if (!read.ok) {
      const why = reportProblem(read.reason, run.report_path, maxBytes);
      outcome.error =
        r.exitCode === 0 ? `the command ${why}` : `the command ${exitDescription(r)} and ${why}`;
      return;
    }
    try {
      outcome.report = parseJUnit(read.xml);
    } catch (err) {
      if (!(err instanceof JUnitError)) throw err;
      outcome.error = `${run.report_path}: ${err.message}`;
      return;
    }
    const v = verdict(outcome.report.totals, r);
    if (v.status === 'error') outcome.error = v.error;
    else outcome.status = v.status;
  }

  private async finish(run: ClaimedRun, o: Outcome, tail: Tail): Promise<TestRunStatus> {
    const logTail = maskText(tail.toString(), run.repository_url ? urlSecrets(run.repository_url) : []);
    const done = await this.uow.run(async (tx) => {
      const row = await this.runs.finish(
        run.id,
        this.workerId,
        {
          status: o.status,
          exitCode: o.exitCode,
          error: o.error,
          logTail: logTail || null,
          totals: o.report?.totals,
          commitSha: o.commitSha,
        },
        tx.manager,
      );
      if (!row) return null;
      const cases = o.report?.cases ?? [];
      await this.runs.insertCases(run.id, cases, tx.manager);
      if (o.status !== 'passed') {
        const failing = cases.filter((c) => c.status === 'failed' || c.status === 'error');
        await this.outbox.publish(
          tx,
          'test.failed',
          {
            run: mapRunRow(row),
            failedCases: failing
              .slice(0, 20)
              .map((c) => ({ suite: c.suite, name: c.name, status: c.status, message: c.message })),
          },
          row.project_id,
        );
      }
      return row;
    });
    if (!done) throw new LeaseLost();
    return o.status;
  }

  private async renew(runId: string): Promise<Renewal> {
    const held = await this.runs.renew(runId, this.workerId, this.config.builds.leaseSeconds);
    return held ? 'held' : 'lost';
  }

  private async expire(runId: string): Promise<boolean> {
    const reason = 'the worker running the test run stopped: its lease expired';
    const row = await this.uow.run(async (tx) => {
      const found = await this.runs.lockLapsed(runId, tx.manager);
      if (!found) return null;
      const run = await this.runs.expire(runId, `${reason} (${found.locked_by ?? 'unknown'})`, tx.manager);
      await this.outbox.publish(tx, 'test.failed', { run: mapRunRow(run), failedCases: [] }, run.project_id);
      return found;
    });
    if (!row) return false;
    if (onThisHost(row.locked_by)) {
      await Workspace.at(this.config.builds.workspaceRoot, runId)
        .remove()
        .catch(() => undefined);
    }
    return true;
  }
}
