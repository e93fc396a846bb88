import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig, newId, OutboxService, Tx } from '@app/core';
import { createTransport, Transporter } from 'nodemailer';
import { MailEntity } from './mail.entity';
import { MailRepository } from './mail.repository';

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  purpose: string;
}

@Injectable()
export class MailService implements OnApplicationShutdown {
  private readonly logger = new Logger(MailService.name);
  private transporter: Transporter | null = null;

  constructor(
    private readonly mails: MailRepository,
    private readonly outbox: OutboxService,
    private readonly config: AppConfig,
  ) {}

  /** True when mails really leave the system (SMTP_URL is set). */
  get canSend(): boolean {
    return Boolean(this.config.mail.smtpUrl);
  }

  /** Stores the mail and queues its delivery, both inside the caller's transaction. */
  async queue(tx: Tx, mail: OutgoingMail): Promise<MailEntity> {
    const entity = await this.mails.insert(tx.manager, { id: newId('mail'), ...mail, status: 'queued' });
    await this.outbox.enqueue(tx, 'mail.send', { mailId: entity.id });
    return entity;
  }

  /** Delivers one mail; safe to run twice (a sent or kept mail is left alone). */
  async deliver(mailId: string): Promise<MailEntity['status'] | 'missing'> {
    const mail = await this.mails.findById(mailId);
    if (!mail) return 'missing';
    if (mail.status === 'sent' || mail.status === 'kept') return mail.status;
    if (!this.canSend) {
      this.logger.log({
        msg: 'mail kept (no SMTP_URL configured)',
        mailId,
        to: mail.to,
        subject: mail.subject,
        purpose: mail.purpose,
      });
      await this.mails.markKept(mailId, mail.attempts + 1);
      return 'kept';
    }
    try {
      await this.transport().sendMail({
        from: this.config.mail.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
      });
    } catch (err) {
      await this.mails.recordAttemptFailure(mailId, mail.attempts + 1, (err as Error).message.slice(0, 1000));
      throw err; // the queue retries with backoff
    }
    await this.mails.markSent(mailId, mail.attempts + 1);
    this.logger.log({ msg: 'mail sent', mailId, purpose: mail.purpose });
    return 'sent';
  }

  /** Called when the queue gives up on a mail. */
  async markFailed(mailId: string, reason: string): Promise<void> {
    await this.mails.markFailed(mailId, reason.slice(0, 1000));
  }

  private transport(): Transporter {
    this.transporter ??= createTransport(this.config.mail.smtpUrl!);
    return this.transporter;
  }

  onApplicationShutdown(): void {
    this.transporter?.close();
  }
}
