import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { skipTake } from '@app/core';
import { EntityManager, Repository } from 'typeorm';
import { ListAuditLogsQueryDto } from './audit-log.dto';
import { AuditLogEntity } from './audit-log.entity';

/** An audit entry's columns (created_at comes from the database). */
export type NewAuditLog = Omit<AuditLogEntity, 'createdAt'>;

/** Every statement on the audit_logs table. */
@Injectable()
export class AuditLogRepository {
  constructor(@InjectRepository(AuditLogEntity) private readonly logs: Repository<AuditLogEntity>) {}

  /** Written with the caller's transaction's manager. */
  async insert(manager: EntityManager, entry: NewAuditLog): Promise<void> {
    const row = manager.create(AuditLogEntity, entry);
    await manager.save(AuditLogEntity, row);
  }

  async list(query: ListAuditLogsQueryDto): Promise<[AuditLogEntity[], number]> {
    const qb = this.logs.createQueryBuilder('a');
    if (query.action) qb.andWhere('a.action = :action', { action: query.action });
    if (query.actorId) qb.andWhere('a.actor_id = :actorId', { actorId: query.actorId });
    if (query.targetType) qb.andWhere('a.target_type = :targetType', { targetType: query.targetType });
    if (query.targetId) qb.andWhere('a.target_id = :targetId', { targetId: query.targetId });
    if (query.from) qb.andWhere('a.created_at >= :from', { from: query.from });
    if (query.to) qb.andWhere('a.created_at < :to', { to: query.to });
    const { skip, take } = skipTake(query);
    return qb
      .orderBy('a.created_at', query.sortOrder === 'asc' ? 'ASC' : 'DESC')
      .addOrderBy('a.id', query.sortOrder === 'asc' ? 'ASC' : 'DESC')
      .skip(skip)
      .take(take)
      .getManyAndCount();
  }
}
