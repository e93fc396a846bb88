import { OnWorkerEvent, Processor } from '@nestjs/bullmq';
import { JobData, MetricsService, QueueName } from '@app/core';
import { MailService } from '@app/mail';
import { Job } from 'bullmq';
import { JobHandlers, JobProcessor } from './job-processor';

@Processor(QueueName.Mail)
export class MailProcessor extends JobProcessor<QueueName.Mail> {
  readonly queue = QueueName.Mail;
  protected readonly handlers: JobHandlers<QueueName.Mail> = {
    'mail.send': (data) => this.mail.deliver(data.mailId),
  };

  constructor(
    private readonly mail: MailService,
    metrics: MetricsService,
  ) {
    super(metrics);
  }

  /** After the last attempt the mail is marked failed, so its record tells what happened. */
  @OnWorkerEvent('failed')
  async onFailed(job: Job<JobData<'mail.send'>> | undefined, error: Error): Promise<void> {
    if (job && job.attemptsMade >= (job.opts.attempts ?? 1))
      await this.mail.markFailed(job.data.mailId, error.message);
  }
}
