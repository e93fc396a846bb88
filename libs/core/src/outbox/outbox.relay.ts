import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { QueueName } from '../queues/job-catalogue';
import { QueueRegistry } from '../queues/queue.registry';

interface PendingRow {
  id: string;
  queue: QueueName;
  name: string;
  payload: Record<string, unknown>;
  request_id: string | null;
  job_id: string | null;
}

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
    @InjectDataSource() private readonly dataSource: DataSource,
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
    return this.dataSource.transaction(async (manager) => {
      const rows: PendingRow[] = await manager.query(
        `SELECT id, queue, name, payload, request_id, job_id FROM outbox_messages
          WHERE dispatched_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [this.config.outbox.batchSize],
      );
      if (rows.length === 0) return 0;
      const byQueue = new Map<QueueName, PendingRow[]>();
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
        await manager.query(
          `UPDATE outbox_messages SET attempts = attempts + 1, last_error = $2 WHERE id = ANY($1::bigint[])`,
          [rows.map((r) => r.id), (err as Error).message.slice(0, 500)],
        );
        this.logger.warn(
          `outbox relay could not reach the queue (rows stay for the next sweep): ${(err as Error).message}`,
        );
        return 0;
      }
      await manager.query(
        `UPDATE outbox_messages SET dispatched_at = now(), attempts = attempts + 1 WHERE id = ANY($1::bigint[])`,
        [rows.map((r) => r.id)],
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
