import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { newId, Page, pageOf, RequestContext, skipTake, Tx } from '@app/core';
import { Repository } from 'typeorm';
import { AuditLogDto, ListAuditLogsQueryDto, mapAuditLog } from './audit-log.dto';
import { AuditLogEntity } from './audit-log.entity';

export interface AuditEntry {
  actorId: string | null;
  action: string;
  targetType: string;
  targetId: string;
  details?: Record<string, unknown>;
}

@Injectable()
export class AuditLogService {
  constructor(@InjectRepository(AuditLogEntity) private readonly logs: Repository<AuditLogEntity>) {}

  /** Written in the caller's transaction: the entry exists exactly when the change does. */
  async record(tx: Tx, entry: AuditEntry): Promise<void> {
    const row = tx.manager.create(AuditLogEntity, {
      id: newId('audit'),
      ...entry,
      details: entry.details ?? {},
      requestId: RequestContext.requestId() ?? null,
    });
    await tx.manager.save(AuditLogEntity, row);
  }

  async list(query: ListAuditLogsQueryDto): Promise<Page<AuditLogDto>> {
    const qb = this.logs.createQueryBuilder('a');
    if (query.action) qb.andWhere('a.action = :action', { action: query.action });
    if (query.actorId) qb.andWhere('a.actor_id = :actorId', { actorId: query.actorId });
    if (query.targetType) qb.andWhere('a.target_type = :targetType', { targetType: query.targetType });
    if (query.targetId) qb.andWhere('a.target_id = :targetId', { targetId: query.targetId });
    if (query.from) qb.andWhere('a.created_at >= :from', { from: query.from });
    if (query.to) qb.andWhere('a.created_at < :to', { to: query.to });
    const { skip, take } = skipTake(query);
    const [rows, total] = await qb
      .orderBy('a.created_at', query.sortOrder === 'asc' ? 'ASC' : 'DESC')
      .addOrderBy('a.id', query.sortOrder === 'asc' ? 'ASC' : 'DESC')
      .skip(skip)
      .take(take)
      .getManyAndCount();
    return pageOf(rows.map(mapAuditLog), total, query);
  }
}
