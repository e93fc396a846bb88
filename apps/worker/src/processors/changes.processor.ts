import { Processor } from '@nestjs/bullmq';
import { ChangesService } from '@app/changes';
import { MetricsService, QueueName } from '@app/core';
import { JobHandlers, JobProcessor } from './job-processor';

/**
 * Changes: `change.open` (what the code agents enqueue when a branch is ready) reads a branch's
 * commits and diff in a sandbox; `change.merge` runs a merge the API accepted.
 */
@Processor(QueueName.Changes)
export class ChangesProcessor extends JobProcessor<QueueName.Changes> {
  readonly queue = QueueName.Changes;
  protected readonly handlers: JobHandlers<QueueName.Changes> = {
    'change.open': async (data) => {
      const change = await this.changes.open(data);
      return { changeId: change.id };
    },
    'change.merge': (data) => this.changes.runMerge(data.changeId),
  };

  constructor(
    private readonly changes: ChangesService,
    metrics: MetricsService,
  ) {
    super(metrics);
  }
}
