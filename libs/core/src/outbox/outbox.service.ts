import { Injectable } from '@nestjs/common';
import { RequestContext } from '../context/request-context';
import { Tx } from '../database/unit-of-work';
import { iso } from '../http/time';
import { newId } from '../ids';
import { DomainEvent, EventType, JOB_QUEUE, JobName, JobPayloads } from '../queues/job-catalogue';
import { jobIdFor } from '../queues/job-ids';
import { OutboxRelay } from './outbox.relay';
import { OutboxRepository } from './outbox.repository';

@Injectable()
export class OutboxService {
  constructor(
    private readonly relay: OutboxRelay,
    private readonly outbox: OutboxRepository,
  ) {}

  /**
   * Writes a job into the outbox inside the caller's transaction; it reaches its queue right
   * after COMMIT (or, if this process dies first, at the relay's next sweep). `key`: what the job
   * is for (a row's id), giving it the id jobIdFor(name, key), which the sweeps that re-enqueue
   * lost jobs (QueueReconciler) look for.
   */
  async enqueue<N extends JobName>(
    tx: Tx,
    name: N,
    payload: JobPayloads[N],
    options: { key?: string } = {},
  ): Promise<void> {
    await this.insert(tx, name, [payload], options.key === undefined ? null : jobIdFor(name, options.key));
  }

  /** Many jobs of one kind in one INSERT (a fan-out to a hundred webhooks is one statement). */
  async enqueueMany<N extends JobName>(tx: Tx, name: N, payloads: Array<JobPayloads[N]>): Promise<void> {
    await this.insert(tx, name, payloads, null);
  }

  private async insert<N extends JobName>(
    tx: Tx,
    name: N,
    payloads: Array<JobPayloads[N]>,
    jobId: string | null,
  ): Promise<void> {
    if (!payloads.length) return;
    await this.outbox.insert(
      tx.manager,
      JOB_QUEUE[name],
      name,
      RequestContext.requestId() ?? null,
      jobId,
      payloads,
    );
    // Not awaited: the caller answers at once; the relay pass (and, failing that, the sweep) moves the rows.
    tx.afterCommit(() => {
      void this.relay.kick();
    });
  }

  /** Publishes a domain event (delivered to webhook subscribers) with the caller's transaction. */
  async publish(
    tx: Tx,
    type: EventType,
    data: Record<string, unknown>,
    projectId: string | null = null,
  ): Promise<DomainEvent> {
    const event: DomainEvent = { id: newId('event'), type, occurredAt: iso(new Date()), projectId, data };
    await this.enqueue(tx, 'event.fanout', event);
    return event;
  }
}
