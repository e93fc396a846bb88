import { Injectable, Logger } from '@nestjs/common';
import { Queue } from 'bullmq';
import { AppConfig } from '../config/app-config';
import { Tx, UnitOfWork } from '../database/unit-of-work';
import { JOB_QUEUE, JobName, JobPayloads } from './job-catalogue';
import { findJobSlot, jobIdFor, JobSearch, JobSlot, jobSlot } from './job-ids';
import { QueueRegistry } from './queue.registry';
import { QueuedRowsRepository } from './queued-rows.repository';

/** Rows looked at per sweep and kind of row. */
export const RECONCILE_BATCH = 50;
/** Jobs one row may be given again (base-r1 … base-r20) before the sweep only reports it. */
export const MAX_REQUEUES = 20;

/** The job a waiting row needs: keyed by the row's id (jobIdFor(job, id)), with this payload. */
export interface JobNeed<N extends JobName> {
  data: JobPayloads[N];
  /** Ids of other jobs that would do the same work: while one of them is live, nothing is added. */
  alsoLive?: string[];
}

/** One kind of row that waits, in status `queued`, for a job to take it. */
export interface QueuedRows<N extends JobName> {
  /** The table (a constant: it is written into the SQL). */
  table: string;
  /** The column saying since when a row waits; with `id`, the order rows are looked at in. */
  since: string;
  job: N;
  /**
   * In a transaction, the job a row still needs, with a lock (taken SKIP LOCKED, held until the
   * job is added) that keeps other sweeps and the row's state off it meanwhile; null: none now.
   * The row's jobs are keyed by its id: the outbox enqueues its first one with `{ key: id }`.
   */
  need(tx: Tx, id: string, queued: QueuedRowsRepository): Promise<JobNeed<N> | null>;
}

/**
 * Queue and database agree after faults. A row the database says is `queued` waits for a job in
 * Redis; when Redis loses it (a restart without persistence, a flushed queue) or the job ended
 * without taking the row, nothing would ever run it. The runners' sweeps hand their queued rows
 * here: each one queued longer than QUEUE_RECONCILE_AFTER_SECONDS whose job is in no live state
 * is enqueued again, under the id its first job had (or base-r1, base-r2, … when that one
 * ended), so the relay, and any number of workers sweeping at once, make one job. A duplicate
 * would be harmless (a runner claims only a queued row) but is not made.
 */
@Injectable()
export class QueueReconciler {
  private readonly logger = new Logger(QueueReconciler.name);
  /** Per table, where the last sweep stopped: a backlog of live jobs cannot hide a lost one behind it. */
  private readonly cursors = new Map<string, { since: string; id: string }>();
  /** Tables being swept: with Redis away a pass waits for it, and no second one piles up behind it. */
  private readonly sweeping = new Set<string>();

  constructor(
    private readonly queued: QueuedRowsRepository,
    private readonly uow: UnitOfWork,
    private readonly queues: QueueRegistry,
    private readonly config: AppConfig,
  ) {}

  /** The usual need: the row still queued (locked), its job's payload made from its id. */
  static ownJob<N extends JobName>(
    table: string,
    since: string,
    job: N,
    data: (id: string) => JobPayloads[N],
  ): QueuedRows<N> {
    return {
      table,
      since,
      job,
      need: async (tx, id, queued) =>
        (await queued.lockQueued(tx.manager, table, id)) ? { data: data(id) } : null,
    };
  }

  /** One pass over up to RECONCILE_BATCH rows that wait too long; returns how many jobs it added. */
  async sweep<N extends JobName>(rows: QueuedRows<N>): Promise<number> {
    if (this.sweeping.has(rows.table)) return 0;
    this.sweeping.add(rows.table);
    try {
      return await this.pass(rows);
    } finally {
      this.sweeping.delete(rows.table);
    }
  }

  private async pass<N extends JobName>(rows: QueuedRows<N>): Promise<number> {
    const grace = this.config.queues.reconcileAfterSeconds;
    const after = this.cursors.get(rows.table);
    const candidates = await this.queued.waiting(rows.table, rows.since, grace, RECONCILE_BATCH, after);
    if (candidates.length === RECONCILE_BATCH) this.cursors.set(rows.table, candidates[RECONCILE_BATCH - 1]);
    else this.cursors.delete(rows.table);
    const queue = this.queues.get(JOB_QUEUE[rows.job]);
    let added = 0;
    for (const { id } of candidates) {
      // A row waiting behind a backlog has a live job: seen without a transaction or a lock.
      if ((await this.search(queue, rows.job, id)).kind === 'live') continue;
      const jobId = await this.uow.run(async (tx) => {
        const need = await rows.need(tx, id, this.queued);
        return need ? this.ensure(queue, rows.job, id, need) : null;
      });
      if (!jobId) continue;
      added++;
      this.logger.warn({
        msg: 'queued with no job in the queue: enqueued again',
        table: rows.table,
        id,
        job: rows.job,
        jobId,
      });
    }
    return added;
  }

  /** Adds the job unless one for the same work is live; returns the id of the job added. */
  private async ensure<N extends JobName>(
    queue: Queue,
    name: N,
    key: string,
    need: JobNeed<N>,
  ): Promise<string | null> {
    for (const id of need.alsoLive ?? []) if ((await probe(queue, id)) === 'live') return null;
    const found = await this.search(queue, name, key);
    if (found.kind === 'live') return null;
    if (found.kind === 'exhausted') {
      this.logger.error({
        msg: `not enqueued again: ${MAX_REQUEUES + 1} of its jobs ended without taking it`,
        job: name,
        id: key,
      });
      return null;
    }
    await queue.add(name, need.data, { jobId: found.id });
    return found.id;
  }

  private search(queue: Queue, name: JobName, key: string): Promise<JobSearch> {
    return findJobSlot(jobIdFor(name, key), MAX_REQUEUES, (id) => probe(queue, id));
  }
}

async function probe(queue: Queue, id: string): Promise<JobSlot> {
  const state = await queue.getJobState(id);
  return jobSlot(state, state === 'unknown' && (await queue.getJob(id)) !== undefined);
}
