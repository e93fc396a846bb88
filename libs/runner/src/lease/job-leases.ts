import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** Why a running job was told to stop. `lost`: its lease went to someone else (a sweep, another worker). */
export type StopReason = 'cancelled' | 'lost' | 'shutdown';

/** What renewing a lease found: still held; held, but a cancel was asked; gone. */
export type Renewal = 'held' | 'cancelled' | 'lost';

/** One job running under a lease, as its runner sees it. */
export interface LeasedJob {
  readonly id: string;
  /** Aborted when the job is told to stop: give it to the sandbox, sleeps, model calls. */
  readonly signal: AbortSignal;
  /** Why the job was told to stop (the first reason wins); null while it may go on. */
  readonly reason: StopReason | null;
}

/** How one job's lease is kept: the runner's own renewal statement, and how long it holds. */
export interface Lease {
  /** How long one renewal holds the lease; the heartbeat renews three times in that. */
  ms: number;
  /** Renews the lease (the runner's SQL). A failure (PostgreSQL away) is logged; the next beat tries again. */
  renew(): Promise<Renewal>;
  /** Renew once at the start too: a cancel asked between the claim and now is heard without waiting a beat. */
  renewAtOnce?: boolean;
}

/** Renewals a lease gets in its length: a worker misses two before it loses the lease. */
const BEATS_PER_LEASE = 3;
/** The shortest heartbeat, whatever the lease. */
const MIN_BEAT_MS = 200;

/** The heartbeat period of a lease `leaseMs` long. */
export function beatEvery(leaseMs: number): number {
  return Math.max(MIN_BEAT_MS, leaseMs / BEATS_PER_LEASE);
}

/** Who holds a lease: host, pid and a random part (a pid is reused after a restart). */
export function newWorkerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/** Whether a lease holder (a newWorkerId) runs on this host: what it left on disk is this host's to clean up. */
export function onThisHost(holder: string | null): boolean {
  return holder?.startsWith(`${hostname()}:`) ?? false;
}

class RunningJob implements LeasedJob {
  private readonly controller = new AbortController();
  reason: StopReason | null = null;
  done: Promise<unknown> = Promise.resolve();

  constructor(readonly id: string) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  stop(reason: StopReason): void {
    if (this.reason) return;
    this.reason = reason;
    this.controller.abort();
  }
}

/**
 * What every runner of leased jobs (builds, test runs, deployments, agent activations) does
 * around its own SQL and job logic: the jobs running in this worker, each with an abort signal
 * and the reason it was stopped; a heartbeat per job that renews its lease and stops it when the
 * lease is gone or a cancel was asked; a periodic sweep of the rows whose lease ran out; and a
 * shutdown that refuses new jobs, stops the running ones and waits for them.
 *
 * The runner keeps its statements: it claims a row itself, then `hold`s it with its renewal;
 * the sweep pass is its own function (see sweepLapsed for the usual one).
 */
export class JobLeases {
  /** Who holds the leases this worker takes (runners whose rows name their holder). */
  readonly workerId = newWorkerId();
  private readonly active = new Map<string, RunningJob>();
  private sweeps: NodeJS.Timeout | null = null;
  private sweeping = false;
  private closing = false;
  private abortOnShutdown = true;

  /** `kind` names a job in the logs: "build", "test-run", "deployment", "activation". */
  constructor(
    private readonly kind: string,
    private readonly logger: Pick<Logger, 'warn'>,
  ) {}

  /** Sweeps were started: this process runs jobs (a gateway builds the runners but never starts them). */
  get started(): boolean {
    return this.sweeps !== null;
  }

  /** Shutting down: no new job is claimed; a job that finishes its steps itself hands the rest back. */
  get stopping(): boolean {
    return this.closing;
  }

  /** Before a claim: a job taken while shutting down fails its attempt, and BullMQ hands it to a worker later. */
  assertRunning(): void {
    if (this.closing) throw new Error('the worker is shutting down');
  }

  /**
   * Runs a claimed job under its lease: it is tracked (stop, shutdown) and its heartbeat renews
   * the lease until `work` settles. A job claimed while shutting down starts stopped.
   */
  async hold<T>(id: string, lease: Lease, work: (job: LeasedJob) => Promise<T>): Promise<T> {
    const job = new RunningJob(id);
    this.active.set(id, job);
    if (this.closing && this.abortOnShutdown) job.stop('shutdown');
    const beat = () =>
      void lease.renew().then(
        (renewal) => {
          if (renewal !== 'held') job.stop(renewal);
        },
        (err: Error) => this.logger.warn(`lease of ${this.kind} ${id} not renewed: ${err.message}`),
      );
    const heartbeat = setInterval(beat, beatEvery(lease.ms));
    heartbeat.unref();
    if (lease.renewAtOnce) beat();
    const done = (async () => {
      try {
        return await work(job);
      } finally {
        clearInterval(heartbeat);
        if (this.active.get(id) === job) this.active.delete(id);
      }
    })();
    job.done = done;
    return done;
  }

  /** Tells the job to stop (its signal aborts); a job already told keeps its first reason. */
  stop(id: string, reason: StopReason): void {
    this.active.get(id)?.stop(reason);
  }

  /**
   * Runs `pass` now and every `everyMs` until shutdown; resolves when the first pass ends. A failed
   * pass is logged and the next one tries again; a pass still running when the next is due makes
   * it skip.
   */
  sweepEvery(everyMs: number, pass: () => Promise<unknown>): Promise<void> {
    const tick = async () => {
      if (this.sweeping || this.closing) return;
      this.sweeping = true;
      try {
        await pass();
      } catch (err) {
        this.logger.warn(`${this.kind} sweep failed: ${(err as Error).message}`);
      } finally {
        this.sweeping = false;
      }
    };
    if (this.sweeps) clearInterval(this.sweeps);
    this.sweeps = setInterval(() => void tick(), everyMs);
    this.sweeps.unref();
    return tick();
  }

  /**
   * SIGTERM: sweeps end and no new job is claimed. Running jobs are stopped (reason `shutdown`);
   * with `abortRunning: false` they are not, but see `stopping` and hand themselves back at their
   * next step. Resolves when the jobs running at the call have ended.
   */
  async shutdown({ abortRunning = true }: { abortRunning?: boolean } = {}): Promise<void> {
    if (this.sweeps) clearInterval(this.sweeps);
    this.closing = true;
    this.abortOnShutdown = abortRunning;
    const running = [...this.active.values()];
    if (abortRunning) for (const job of running) job.stop('shutdown');
    await Promise.allSettled(running.map((job) => job.done));
  }
}
