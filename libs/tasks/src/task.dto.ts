import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { AtMostTwoDecimals, PageQueryDto } from '@app/core';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsNotEmpty,
  IsNumber,
  IsOptional,
  IsString,
  Length,
  Max,
  MaxLength,
  Min,
  ValidateIf,
} from 'class-validator';
import { TASK_STATUSES, TaskStatus } from './task-workflow';
import { TASK_PRIORITIES, TASK_TYPES, TaskPriority, TaskType } from './task.entity';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
const enumMessage = (name: string, values: readonly string[]) => ({
  message: `${name} must be one of ${values.join(', ')}`,
});

export class CreateTaskDto {
  @ApiProperty({ enum: TASK_TYPES, example: 'story' })
  @IsIn(TASK_TYPES, enumMessage('type', TASK_TYPES))
  type: TaskType;

  @ApiProperty({ example: '用户登录功能实现' })
  @Transform(trim)
  @IsString()
  @IsNotEmpty()
  @MaxLength(500)
  title: string;

  /** Markdown */
  @ApiPropertyOptional({ example: '实现基于 JWT 的用户登录认证功能' })
  @IsOptional()
  @IsString()
  @MaxLength(100000)
  description?: string;

  /** Must be a member of the project */
  @ApiPropertyOptional({ example: 'usr_abc123def456' })
  @IsOptional()
  @IsString()
  @MaxLength(40)
  assigneeId?: string;

  @ApiPropertyOptional({ enum: TASK_PRIORITIES, default: 'medium' })
  @IsOptional()
  @IsIn(TASK_PRIORITIES, enumMessage('priority', TASK_PRIORITIES))
  priority?: TaskPriority;

  @ApiPropertyOptional({ example: 5 })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @AtMostTwoDecimals()
  @Min(0)
  @Max(1000)
  storyPoints?: number;

  /** A task of the same project; an epic has no parent */
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(40)
  parentTaskId?: string;

  @ApiPropertyOptional({ example: ['backend', 'authentication'], type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayUnique()
  @ArrayMaxSize(20)
  @IsString({ each: true })
  @Length(1, 50, { each: true })
  labels?: string[];
}

/** Every field optional; null clears assignee, story points or parent. Status moves with PUT /tasks/{taskId}/status. */
export class UpdateTaskDto {
  @ApiPropertyOptional({ enum: TASK_TYPES })
  @IsOptional()
  @IsIn(TASK_TYPES, enumMessage('type', TASK_TYPES))
  type?: TaskType;

  @ApiPropertyOptional()
  @IsOptional()
  @Transform(trim)
  @IsString()
  @IsNotEmpty()
  @MaxLength(500)
  title?: string;

  @ApiPropertyOptional({ nullable: true, type: String })
  @ValidateIf((_, v) => v !== null && v !== undefined)
  @IsString()
  @MaxLength(100000)
  description?: string | null;

  @ApiPropertyOptional({ nullable: true, type: String })
  @ValidateIf((_, v) => v !== null && v !== undefined)
  @IsString()
  @MaxLength(40)
  assigneeId?: string | null;

  @ApiPropertyOptional({ enum: TASK_PRIORITIES })
  @IsOptional()
  @IsIn(TASK_PRIORITIES, enumMessage('priority', TASK_PRIORITIES))
  priority?: TaskPriority;

  @ApiPropertyOptional({ nullable: true, type: Number })
  @ValidateIf((_, v) => v !== null && v !== undefined)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @AtMostTwoDecimals()
  @Min(0)
  @Max(1000)
  storyPoints?: number | null;

  @ApiPropertyOptional({ nullable: true, type: String })
  @ValidateIf((_, v) => v !== null && v !== undefined)
  @IsString()
  @MaxLength(40)
  parentTaskId?: string | null;

  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayUnique()
  @ArrayMaxSize(20)
  @IsString({ each: true })
  @Length(1, 50, { each: true })
  labels?: string[];
}

export class ChangeTaskStatusDto {
  @ApiProperty({ enum: TASK_STATUSES, example: 'in_progress' })
  @IsIn(TASK_STATUSES, enumMessage('status', TASK_STATUSES))
  status: TaskStatus;

  @ApiPropertyOptional({ example: '开始开发' })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  comment?: string;
}

export const TASK_SORT_FIELDS = ['createdAt', 'updatedAt', 'priority', 'key', 'title'] as const;

export class ListTasksQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: TASK_STATUSES })
  @IsOptional()
  @IsIn(TASK_STATUSES, enumMessage('status', TASK_STATUSES))
  status?: TaskStatus;

  @ApiPropertyOptional({ enum: TASK_TYPES })
  @IsOptional()
  @IsIn(TASK_TYPES, enumMessage('type', TASK_TYPES))
  type?: TaskType;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(40)
  assigneeId?: string;

  @ApiPropertyOptional({ enum: TASK_PRIORITIES })
  @IsOptional()
  @IsIn(TASK_PRIORITIES, enumMessage('priority', TASK_PRIORITIES))
  priority?: TaskPriority;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Length(1, 50)
  label?: string;

  /** Matches title or description */
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Length(1, 200)
  search?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(40)
  parentTaskId?: string;

  @ApiPropertyOptional({ enum: TASK_SORT_FIELDS, default: 'createdAt' })
  @IsOptional()
  @IsIn(TASK_SORT_FIELDS, enumMessage('sortBy', TASK_SORT_FIELDS))
  sortBy: (typeof TASK_SORT_FIELDS)[number] = 'createdAt';
}

export class HistoryQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: ['asc', 'desc'], default: 'asc' })
  @IsOptional()
  @IsIn(['asc', 'desc'])
  override sortOrder: 'asc' | 'desc' = 'asc';

  @ApiPropertyOptional({ default: 50 })
  @IsOptional()
  @Type(() => Number)
  override pageSize: number = 50;
}

export class TaskDto {
  @ApiProperty({ example: 'task_ecom001' }) id: string;
  @ApiProperty({ example: 'ECOM-1' }) key: string;
  @ApiProperty({ example: 'prj_ecom2026031401' }) projectId: string;
  @ApiProperty({ enum: TASK_TYPES }) type: TaskType;
  @ApiProperty({ example: '用户登录功能实现' }) title: string;
  @ApiProperty({ nullable: true, type: String }) description: string | null;
  @ApiProperty({ enum: TASK_STATUSES }) status: TaskStatus;
  @ApiProperty({ nullable: true, type: String }) assigneeId: string | null;
  @ApiProperty({ nullable: true, type: String }) reporterId: string | null;
  @ApiProperty({ enum: TASK_PRIORITIES }) priority: TaskPriority;
  @ApiProperty({ nullable: true, type: Number, example: 5 }) storyPoints: number | null;
  @ApiProperty({ nullable: true, type: String }) parentTaskId: string | null;
  @ApiProperty({ type: [String], example: ['backend', 'authentication'] }) labels: string[];
  @ApiProperty({ example: '2026-03-14T11:30:00Z' }) createdAt: string;
  @ApiProperty({ example: '2026-03-14T11:30:00Z' }) updatedAt: string;
}

/** Any JSON value or null (a history entry records whichever field changed). */
const ANY_JSON = [
  { type: 'string', nullable: true },
  { type: 'number', nullable: true },
  { type: 'boolean', nullable: true },
  { type: 'array', items: {}, nullable: true },
  { type: 'object', nullable: true },
];

export class TaskHistoryEntryDto {
  @ApiProperty() id: string;
  @ApiProperty({ example: 'status' }) field: string;
  /** The field's value before the change: a string, number, boolean, list or object */
  @ApiProperty({ example: 'todo', anyOf: ANY_JSON }) from: unknown;
  /** The field's value after the change */
  @ApiProperty({ example: 'in_progress', anyOf: ANY_JSON }) to: unknown;
  @ApiProperty({ nullable: true, type: String }) comment: string | null;
  @ApiProperty({ nullable: true, type: String }) changedBy: string | null;
  @ApiProperty() changedAt: string;
}
