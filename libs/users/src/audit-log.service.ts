import { Injectable } from '@nestjs/common';
import { newId, Page, pageOf, RequestContext, Tx } from '@app/core';
import { AuditLogDto, ListAuditLogsQueryDto, mapAuditLog } from './audit-log.dto';
import { AuditLogRepository } from './audit-log.repository';

export interface AuditEntry {
  actorId: string | null;
  action: string;
  targetType: string;
  targetId: string;
  details?: Record<string, unknown>;
}

@Injectable()
export class AuditLogService {
  constructor(private readonly logs: AuditLogRepository) {}

  /** Written in the caller's transaction: the entry exists exactly when the change does. */
  async record(tx: Tx, entry: AuditEntry): Promise<void> {
    await this.logs.insert(tx.manager, {
      id: newId('audit'),
      ...entry,
      details: entry.details ?? {},
      requestId: RequestContext.requestId() ?? null,
    });
  }

  async list(query: ListAuditLogsQueryDto): Promise<Page<AuditLogDto>> {
    const [rows, total] = await this.logs.list(query);
    return pageOf(rows.map(mapAuditLog), total, query);
  }
}
