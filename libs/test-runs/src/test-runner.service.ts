import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { AppConfig, OutboxService, QueueReconciler, UnitOfWork } from '@app/core';
import { maskText, redactUrl, urlSecrets } from '@app/pipelines';
import {
  cloneAndCheckout,
  JobLeases,
  LeasedJob,
  onThisHost,
  Renewal,
  Sandbox,
  shell,
  Workspace,
} from '@app/runner';
import { cp, open, realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import { JUnitError, JUnitReport, parseJUnit } from './junit-parser';
import { TestRunStatus } from './test-run.entity';
import { mapRunRow } from './test-run.rows';
import { ClaimedRun, QUEUED_RUNS, TestRunsRepository } from './test-runs.repository';
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

class LeaseLost extends Error {}

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

  private async execute(run: ClaimedRun, job: LeasedJob): Promise<TestRunStatus | 'skipped'> {
    const cfg = this.config;
    const tail = new Tail(LOG_TAIL_CHARS);
    const signal = job.signal;
    let workspace: Workspace | null = null;
    const outcome: Outcome = { status: 'error', exitCode: null, error: null, report: null, commitSha: null };
    try {
      workspace = await Workspace.create(cfg.builds.workspaceRoot, run.id, (...p) => this.sandbox.own(...p));
      const base = { CI: 'true', COCODE_RUN_ID: run.id };
      if (run.repository_url) {
        tail.write(`$ git clone ${redactUrl(run.repository_url)}\n`);
        const checkout = await cloneAndCheckout({
          sandbox: this.sandbox,
          workspace: workspace.dir,
          url: run.repository_url,
          branch: run.branch,
          commit: null,
          fileRoots: cfg.gitFileRoots,
          env: base,
          timeoutMs: cfg.builds.cloneTimeoutSeconds * 1000,
          signal,
          onOutput: tail.write,
          jobId: run.id,
        });
        if (!checkout.ok) {
          outcome.error = `checkout failed: ${checkout.reason}`;
          return await this.finish(run, outcome, tail);
        }
        outcome.commitSha = checkout.sha;
      } else {
        const dir = await resolveWorkingDirectory(
          run.working_directory ?? '',
          cfg.tests.workingDirectoryRoots,
        );
        if (!dir.ok) {
          outcome.error = `refused: ${dir.reason}`;
          return await this.finish(run, outcome, tail);
        }
        // Links are copied as links: inside the sandbox they lead nowhere of the host's.
        await cp(dir.path, workspace.src, {
          recursive: true,
          verbatimSymlinks: true,
          preserveTimestamps: true,
        });
        await this.sandbox.ownTree(workspace.src);
      }
      const cwd = workspace.src;

      const env: Record<string, string> = {
        ...base,
        COCODE_SUITE_ID: run.suite_id,
        TEST_BROWSERS: run.browsers.join(','),
        TEST_PARALLEL: String(run.parallel),
        ...(run.environment ? { TEST_ENV: run.environment } : {}),
      };
      const since = Date.now();
      tail.write(`$ ${run.command}\n`);
      const r = await this.sandbox.run({
        argv: shell(run.command),
        workspace: workspace.dir,
        cwd: 'src',
        env,
        timeoutMs: run.timeout_seconds * 1000,
        signal,
        onOutput: tail.write,
        jobId: run.id,
      });
      outcome.exitCode = r.exitCode;
      if (r.outcome === 'timeout') {
        outcome.error = `the command timed out after ${run.timeout_seconds} s (its sandbox was killed)`;
        return await this.finish(run, outcome, tail);
      }
      if (r.outcome === 'aborted') {
        outcome.error = 'the worker shut down during the run';
        return await this.finish(run, outcome, tail);
      }
      if (r.outcome === 'limit') {
        outcome.error = `the command was stopped: ${r.reason}`;
        return await this.finish(run, outcome, tail);
      }
      if (r.outcome === 'spawn_error') {
        outcome.error = `the command could not start: ${r.reason}`;
        return await this.finish(run, outcome, tail);
      }
      const exit = r.exitCode === null ? `was killed by ${r.signal}` : `exited with code ${r.exitCode}`;
      const read = await readReport(cwd, run.report_path, since, cfg.tests.maxReportBytes);
      if (!read.ok) {
        const why = {
          missing: `wrote no report at ${run.report_path}`,
          stale: `wrote no new report at ${run.report_path} (the file there is older than the run)`,
          too_big: `wrote a report bigger than ${cfg.tests.maxReportBytes} bytes (TESTS_MAX_REPORT_BYTES)`,
          outside: `wrote ${run.report_path} as a link leading out of its directory`,
        }[read.reason];
        outcome.error = r.exitCode === 0 ? `the command ${why}` : `the command ${exit} and ${why}`;
        return await this.finish(run, outcome, tail);
      }
      try {
        outcome.report = parseJUnit(read.xml);
      } catch (err) {
        if (!(err instanceof JUnitError)) throw err;
        outcome.error = `${run.report_path}: ${err.message}`;
        return await this.finish(run, outcome, tail);
      }
      const t = outcome.report.totals;
      if (t.failed + t.errors > 0) outcome.status = 'failed';
      else if (r.exitCode === 0) outcome.status = 'passed';
      else outcome.error = `the command ${exit} although its report has no failure`;
      return await this.finish(run, outcome, tail);
    } catch (err) {
      if (err instanceof LeaseLost || job.reason === 'lost') return 'error';
      this.logger.error({ msg: 'test run failed unexpectedly', runId: run.id, err });
      outcome.status = 'error';
      outcome.report = null;
      outcome.error = `internal error: ${(err as Error).message}`;
      return this.finish(run, outcome, tail).catch(() => 'error' as const);
    } finally {
      await workspace
        ?.remove()
        .catch((err: Error) => this.logger.warn(`workspace not removed: ${err.message}`));
    }
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
