import { Injectable } from '@nestjs/common';
import { RequestContext } from '../context/request-context';
import { Tx } from '../database/unit-of-work';
import { JOB_QUEUE, JobName, JobPayloads } from '../queues/job-catalogue';
import { OutboxRelay } from './outbox.relay';

@Injectable()
export class OutboxService {
  constructor(private readonly relay: OutboxRelay) {}

  /**
   * Writes a job into the outbox inside the caller's transaction; it reaches its queue right
   * after COMMIT (or, if this process dies first, at the relay's next sweep).
   */
  async enqueue<N extends JobName>(tx: Tx, name: N, payload: JobPayloads[N]): Promise<void> {
    await tx.manager.query(
      `INSERT INTO outbox_messages (queue, name, payload, request_id) VALUES ($1, $2, $3, $4)`,
      [JOB_QUEUE[name], name, JSON.stringify(payload), RequestContext.requestId() ?? null],
    );
    tx.afterCommit(() => this.relay.kick());
  }
}
