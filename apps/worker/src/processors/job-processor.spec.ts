import { Logger } from '@nestjs/common';
import { MetricsService, QueueName, RequestContext } from '@app/core';
import { Job, UnrecoverableError } from 'bullmq';
import { assertHandlersComplete, JobHandlers, JobProcessor } from './job-processor';

class MailHandlers {
  readonly queue = QueueName.Mail;
  handledJobs(): string[] {
    return ['mail.send'];
  }
}
class MoreMailHandlers extends MailHandlers {}
class EmptyMailProcessor {
  readonly queue = QueueName.Mail;
  handledJobs(): string[] {
    return [];
  }
}
class BuildsProcessor {
  readonly queue = QueueName.Builds;
  handledJobs(): string[] {
    return ['build.run'];
  }
}

describe('assertHandlersComplete', () => {
  it('accepts processors covering every job of their queues exactly once', () => {
    expect(() => assertHandlersComplete([new MailHandlers(), new BuildsProcessor()])).not.toThrow();
  });

  it('throws when a job of a processed queue has no handler', () => {
    expect(() => assertHandlersComplete([new EmptyMailProcessor()])).toThrow(
      'Worker job handlers are incomplete:\n  - job "mail.send" on queue "mail" has no handler',
    );
  });

  it('throws when two processors handle the same job, naming both', () => {
    expect(() => assertHandlersComplete([new MailHandlers(), new MoreMailHandlers()])).toThrow(
      'job "mail.send" is handled twice (MailHandlers and MoreMailHandlers)',
    );
  });
});

type Counted = { queue: string; name: string; outcome: string };

class TestMailProcessor extends JobProcessor<QueueName.Mail> {
  readonly queue = QueueName.Mail;
  readonly calls: Array<{ data: unknown; requestId: string | undefined }> = [];
  outcome: () => Promise<unknown> = async () => 'sent';
  protected readonly handlers: JobHandlers<QueueName.Mail> = {
    'mail.send': (data) => {
      this.calls.push({ data, requestId: RequestContext.requestId() });
      return this.outcome();
    },
  };
}

function fixture() {
  const counted: Counted[] = [];
  const metrics = { jobs: { inc: (labels: Counted) => counted.push(labels) } } as unknown as MetricsService;
  return { processor: new TestMailProcessor(metrics), counted };
}

const job = (name: string, data: Record<string, unknown>, id = '42') =>
  ({ name, id, data, attemptsMade: 0 }) as unknown as Job;

describe('JobProcessor', () => {
  beforeEach(() => jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined));
  afterEach(() => jest.restoreAllMocks());

  it('lists the jobs it handles', () => {
    expect(fixture().processor.handledJobs()).toEqual(['mail.send']);
  });

  it("runs the job's handler and counts it completed", async () => {
    const { processor, counted } = fixture();
    await expect(processor.process(job('mail.send', { mailId: 'mail_1' }))).resolves.toBe('sent');
    expect(processor.calls).toHaveLength(1);
    expect(processor.calls[0].data).toEqual({ mailId: 'mail_1' });
    expect(counted).toEqual([{ queue: 'mail', name: 'mail.send', outcome: 'completed' }]);
  });

  it('runs the handler under the request id that caused the job', async () => {
    const { processor } = fixture();
    await processor.process(job('mail.send', { mailId: 'mail_1', requestId: 'req_origin' }));
    expect(processor.calls[0].requestId).toBe('req_origin');
  });

  it('falls back to a request id made from the job id', async () => {
    const { processor } = fixture();
    await processor.process(job('mail.send', { mailId: 'mail_1' }, '77'));
    expect(processor.calls[0].requestId).toBe('job_77');
  });

  it('counts a failed attempt and rethrows so BullMQ retries', async () => {
    const { processor, counted } = fixture();
    const failure = new Error('SMTP down');
    processor.outcome = () => Promise.reject(failure);
    await expect(processor.process(job('mail.send', { mailId: 'mail_1' }))).rejects.toBe(failure);
    expect(counted).toEqual([{ queue: 'mail', name: 'mail.send', outcome: 'failed' }]);
  });

  it('refuses an unknown job name without retrying it', async () => {
    const { processor, counted } = fixture();
    const attempt = processor.process(job('mail.unknown', {}));
    await expect(attempt).rejects.toBeInstanceOf(UnrecoverableError);
    await expect(attempt).rejects.toThrow('No handler for job "mail.unknown" on queue "mail"');
    expect(processor.calls).toHaveLength(0);
    expect(counted).toEqual([]);
  });
});
