import { Processor } from '@nestjs/bullmq';
import { ChangesService } from '@app/changes';
import { AppError, ErrorCode, MetricsService, OpenChangeInput, QueueName } from '@app/core';
import { UnrecoverableError } from 'bullmq';
import { JobHandlers, JobProcessor } from './job-processor';

/**
 * Changes: `change.open` (what the code agents enqueue when a branch is ready) reads a branch's
 * commits and diff in a sandbox; `change.merge` runs a merge the API accepted.
 */
@Processor(QueueName.Changes)
export class ChangesProcessor extends JobProcessor<QueueName.Changes> {
  readonly queue = QueueName.Changes;
  protected readonly handlers: JobHandlers<QueueName.Changes> = {
    'change.open': (data) => this.open(data),
    'change.merge': (data) => this.changes.runMerge(data.changeId),
  };

  constructor(
    private readonly changes: ChangesService,
    metrics: MetricsService,
  ) {
    super(metrics);
  }

  /** A request that can never be opened (bad input, no such project) is not tried again. */
  private async open(data: OpenChangeInput): Promise<{ changeId: string }> {
    try {
      return { changeId: (await this.changes.open(data)).id };
    } catch (err) {
      if (err instanceof AppError && [ErrorCode.ValidationError, ErrorCode.NotFound].includes(err.code))
        throw new UnrecoverableError(`${err.message}: ${JSON.stringify(err.details)}`);
      throw err;
    }
  }
}
