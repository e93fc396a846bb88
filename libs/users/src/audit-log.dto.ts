import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { iso, PageQueryDto } from '@app/core';
import { IsISO8601, IsOptional, IsString, MaxLength } from 'class-validator';
import { AuditLogEntity } from './audit-log.entity';

export class ListAuditLogsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ example: 'user.deleted' }) @IsOptional() @IsString() @MaxLength(64) action?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(40) actorId?: string;
  @ApiPropertyOptional({ example: 'user' }) @IsOptional() @IsString() @MaxLength(32) targetType?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(64) targetId?: string;
  @ApiPropertyOptional({ format: 'date-time', description: 'From this instant (inclusive), ISO 8601' })
  @IsOptional()
  @IsISO8601()
  from?: string;
  @ApiPropertyOptional({ format: 'date-time', description: 'Before this instant, ISO 8601' })
  @IsOptional()
  @IsISO8601()
  to?: string;
}

export class AuditLogDto {
  @ApiProperty({ example: 'aud_0k2j4h5g6f7d8s9a' }) id: string;
  @ApiProperty({ nullable: true, type: String }) actorId: string | null;
  @ApiProperty({ example: 'user.deleted' }) action: string;
  @ApiProperty({ example: 'user' }) targetType: string;
  @ApiProperty() targetId: string;
  @ApiProperty({ type: Object }) details: Record<string, unknown>;
  @ApiProperty({ nullable: true, type: String }) requestId: string | null;
  @ApiProperty() createdAt: string;
}

export function mapAuditLog(e: AuditLogEntity): AuditLogDto {
  return {
    id: e.id,
    actorId: e.actorId,
    action: e.action,
    targetType: e.targetType,
    targetId: e.targetId,
    details: e.details,
    requestId: e.requestId,
    createdAt: iso(e.createdAt),
  };
}
