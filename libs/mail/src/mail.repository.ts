import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { MailEntity } from './mail.entity';

/** Every statement on the mails table. */
@Injectable()
export class MailRepository {
  constructor(@InjectRepository(MailEntity) private readonly mails: Repository<MailEntity>) {}

  /** Inserts a queued mail in the caller's transaction. */
  async insert(
    manager: EntityManager,
    mail: Pick<MailEntity, 'id' | 'to' | 'subject' | 'text' | 'purpose' | 'status'>,
  ): Promise<MailEntity> {
    const entity = manager.create(MailEntity, mail);
    await manager.insert(MailEntity, entity);
    return entity;
  }

  findById(id: string): Promise<MailEntity | null> {
    return this.mails.findOneBy({ id });
  }

  /** Kept (no SMTP): only a mail still queued. */
  async markKept(id: string, attempts: number): Promise<void> {
    await this.mails.update({ id, status: 'queued' }, { status: 'kept', attempts });
  }

  async recordAttemptFailure(id: string, attempts: number, error: string): Promise<void> {
    await this.mails.update({ id }, { attempts, error });
  }

  async markSent(id: string, attempts: number): Promise<void> {
    await this.mails.update({ id }, { status: 'sent', sentAt: new Date(), attempts, error: null });
  }

  /** Failed for good: only a mail still queued. */
  async markFailed(id: string, error: string): Promise<void> {
    await this.mails.update({ id, status: 'queued' }, { status: 'failed', error });
  }
}
