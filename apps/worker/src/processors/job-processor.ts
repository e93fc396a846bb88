import { BeforeApplicationShutdown, Logger } from '@nestjs/common';
import { WorkerHost } from '@nestjs/bullmq';
import { JOB_QUEUE, JobData, JobName, MetricsService, QueueName, RequestContext } from '@app/core';
import { Job, UnrecoverableError } from 'bullmq';

export type JobHandlers<Q extends QueueName> = {
  [N in JobName as (typeof JOB_QUEUE)[N] extends Q ? N : never]: (
    data: JobData<N>,
    job: Job,
  ) => Promise<unknown>;
};

/**
 * Base of every processor: runs the job's handler inside a context carrying the request id that
 * caused it, counts outcomes, and refuses unknown job names without retrying them.
 */
export abstract class JobProcessor<Q extends QueueName>
  extends WorkerHost
  implements BeforeApplicationShutdown
{
  protected readonly logger = new Logger(this.constructor.name);
  abstract readonly queue: Q;
  protected abstract readonly handlers: JobHandlers<Q>;

  constructor(private readonly metrics: MetricsService) {
    super();
  }

  /**
   * Graceful shutdown: stop taking jobs and let the running ones finish while PostgreSQL and Redis
   * are still open (Nest closes those in onApplicationShutdown, after this hook).
   */
  async beforeApplicationShutdown(): Promise<void> {
    await this.worker?.close();
  }

  /** The job names this processor handles (checked against the catalogue at start-up). */
  handledJobs(): string[] {
    return Object.keys(this.handlers);
  }

  async process(job: Job): Promise<unknown> {
    const handler = (this.handlers as Record<string, (data: unknown, job: Job) => Promise<unknown>>)[
      job.name
    ];
    if (!handler) throw new UnrecoverableError(`No handler for job "${job.name}" on queue "${this.queue}"`);
    const requestId = (job.data as { requestId?: string }).requestId ?? `job_${job.id}`;
    return RequestContext.run({ requestId }, async () => {
      try {
        const result = await handler(job.data, job);
        this.metrics.jobs.inc({ queue: this.queue, name: job.name, outcome: 'completed' });
        return result;
      } catch (err) {
        this.metrics.jobs.inc({ queue: this.queue, name: job.name, outcome: 'failed' });
        this.logger.warn({
          msg: 'job attempt failed',
          jobId: job.id,
          name: job.name,
          attempt: job.attemptsMade + 1,
          err,
        });
        throw err;
      }
    });
  }
}

/** Fail fast: every job the catalogue routes to a processed queue must have a handler. */
export function assertHandlersComplete(
  processors: Array<Pick<JobProcessor<QueueName>, 'queue' | 'handledJobs'>>,
): void {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const p of processors) {
    for (const name of p.handledJobs()) {
      if (seen.has(name))
        problems.push(`job "${name}" is handled twice (${seen.get(name)} and ${p.constructor.name})`);
      seen.set(name, p.constructor.name);
    }
    for (const [name, queue] of Object.entries(JOB_QUEUE)) {
      if (queue === p.queue && !p.handledJobs().includes(name))
        problems.push(`job "${name}" on queue "${queue}" has no handler`);
    }
  }
  if (problems.length) throw new Error(`Worker job handlers are incomplete:\n  - ${problems.join('\n  - ')}`);
}
