import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { UnitOfWork } from '../database/unit-of-work';
import { QueueName } from '../queues/job-catalogue';
import { QueueRegistry } from '../queues/queue.registry';
import { OutboxRepository, PendingOutboxRow } from './outbox.repository';

/**
 * Moves committed outbox rows to BullMQ. Rows are locked with SKIP LOCKED so any number of
 * relays (every gateway and worker) can run at once; the BullMQ jobId is the job's own (jobIdFor,
 * when it has a key) or derived from the row id, so a row relayed twice (crash between add and
 * mark) still yields one job.
 */
@Injectable()
export class OutboxRelay implements OnApplicationShutdown {
  private readonly logger = new Logger(OutboxRelay.name);
  private running: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly uow: UnitOfWork,
    private readonly outbox: OutboxRepository,
    private readonly queues: QueueRegistry,
    private readonly config: AppConfig,
  ) {}

  /** Ask for a relay pass soon; concurrent kicks collapse into one extra pass. */
  kick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          while ((await this.dispatchBatch()) === this.config.outbox.batchSize) {
            /* keep draining */
          }
        } while (this.again);
      } catch (err) {
        this.logger.warn(
          `outbox relay pass failed (rows stay for the next sweep): ${(err as Error).message}`,
        );
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  /** The periodic sweep that guarantees delivery when an after-commit kick was lost. */
  startSweeping(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.kick(), this.config.outbox.sweepIntervalMs);
    this.timer.unref();
    void this.kick();
  }

  async dispatchBatch(): Promise<number> {
    return this.uow.run(async ({ manager }) => {
      const rows = await this.outbox.claimPending(manager, this.config.outbox.batchSize);
      if (rows.length === 0) return 0;
      const byQueue = new Map<QueueName, PendingOutboxRow[]>();
      for (const row of rows) byQueue.set(row.queue, [...(byQueue.get(row.queue) ?? []), row]);
      try {
        for (const [queue, items] of byQueue) {
          await this.queues.get(queue).addBulk(
            items.map((row) => ({
              name: row.name,
              data: { ...row.payload, requestId: row.request_id ?? undefined },
              opts: { jobId: row.job_id ?? `outbox-${row.id}` },
            })),
          );
        }
      } catch (err) {
        await this.outbox.markFailed(
          manager,
          rows.map((r) => r.id),
          (err as Error).message.slice(0, 500),
        );
        this.logger.warn(
          `outbox relay could not reach the queue (rows stay for the next sweep): ${(err as Error).message}`,
        );
        return 0;
      }
      await this.outbox.markDispatched(
        manager,
        rows.map((r) => r.id),
      );
      return rows.length;
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
