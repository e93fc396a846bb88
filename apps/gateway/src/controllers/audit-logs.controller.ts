import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequirePermissions } from '@app/auth';
import { Page, Permission } from '@app/core';
import { AuditLogDto, AuditLogService, ListAuditLogsQueryDto } from '@app/users';
import { ApiPage } from '../http/api-page.decorator';

@ApiTags('audit-logs')
@Controller('audit-logs')
export class AuditLogsController {
  constructor(private readonly audit: AuditLogService) {}

  @Get()
  @RequirePermissions(Permission.AuditLogsAdmin)
  @ApiOperation({ summary: 'The audit log: who changed what, newest first' })
  @ApiPage(AuditLogDto)
  list(@Query() query: ListAuditLogsQueryDto): Promise<Page<AuditLogDto>> {
    return this.audit.list(query);
  }
}
