import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { PageQueryDto } from '@app/core';
import { Type } from 'class-transformer';
import {
  IsISO8601,
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import {
  ACTIVATION_STATUSES,
  AGENT_TYPES,
  ActivationStatus,
  AgentType,
  PROVIDER_NAMES,
  ProviderName,
} from './agent-types';

export class AgentBudgetDto {
  /** USD the activation may spend on the model (all its sessions) */
  @ApiPropertyOptional({ example: 2.5, minimum: 0.01 })
  @IsOptional()
  @IsNumber()
  @Min(0.01)
  @Max(10000)
  maxUsd?: number;

  /** Model turns the activation may take (all its sessions); default AGENTS_CODE_MAX_TURNS */
  @ApiPropertyOptional({ example: 40, minimum: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1000)
  maxTurns?: number;

  /** Seconds one coding session may run; default AGENTS_CODE_TIMEOUT_SECONDS */
  @ApiPropertyOptional({ example: 900, minimum: 10 })
  @IsOptional()
  @IsInt()
  @Min(10)
  @Max(86400)
  timeoutSeconds?: number;
}

export class AgentConfigDto {
  /**
   * claude-code: a Claude Code session on the project's repository (backend, frontend, test and
   * devops; the default for them when the platform has a key and the project a repository);
   * anthropic: one Messages API call a step; template: offline (for the code agents on a
   * repository: the plan as a file on a branch, through the same change and build).
   */
  @ApiPropertyOptional({ enum: PROVIDER_NAMES })
  @IsOptional()
  @IsIn(PROVIDER_NAMES, { message: `provider must be one of ${PROVIDER_NAMES.join(', ')}` })
  provider?: ProviderName;

  /** Code agents: sessions given a failed build to repair before the activation fails */
  @ApiPropertyOptional({ default: 2, minimum: 0, maximum: 5 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(5)
  repairRounds?: number;

  /** Code agents: merge the change once its build is green (default: it waits for review) */
  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsBoolean()
  autoMerge?: boolean;

  @ApiPropertyOptional({ type: AgentBudgetDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => AgentBudgetDto)
  budget?: AgentBudgetDto;

  /** A model alias (claude-sonnet-4) or id; "template" runs the offline template provider. */
  @ApiPropertyOptional({ example: 'claude-sonnet-4' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  model?: string;

  @ApiPropertyOptional({ example: 0.7, minimum: 0, maximum: 1 })
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  temperature?: number;

  @ApiPropertyOptional({ enum: ['markdown', 'json'], default: 'markdown' })
  @IsOptional()
  @IsIn(['markdown', 'json'], { message: 'outputFormat must be one of markdown, json' })
  outputFormat?: 'markdown' | 'json';
}

export class ActivateAgentDto {
  /** The task the agent works on (id or key) */
  @ApiProperty({ example: 'task_ecom001' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(40)
  taskId: string;

  @ApiProperty({
    example: {
      requirement: '实现用户中心模块,支持手机号登录、邮箱登录、第三方登录',
      context: '电商后台管理系统 v1.0',
    },
  })
  @IsObject()
  input: Record<string, unknown>;

  @ApiPropertyOptional({ type: AgentConfigDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => AgentConfigDto)
  config?: AgentConfigDto;

  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  notifyOnComplete?: boolean;
}

export class ListActivationsQueryDto extends PageQueryDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(40) taskId?: string;
  @ApiPropertyOptional({ enum: AGENT_TYPES })
  @IsOptional()
  @IsIn(AGENT_TYPES, { message: `agentType must be one of ${AGENT_TYPES.join(', ')}` })
  agentType?: AgentType;
  @ApiPropertyOptional({ enum: ACTIVATION_STATUSES })
  @IsOptional()
  @IsIn(ACTIVATION_STATUSES, { message: `status must be one of ${ACTIVATION_STATUSES.join(', ')}` })
  status?: ActivationStatus;
}

export class AgentStepInfoDto {
  @ApiProperty({ example: '需求解析' }) name: string;
  @ApiProperty({ example: 'analysis' }) key: string;
  @ApiProperty() instruction: string;
}

export class AgentInfoDto {
  @ApiProperty({ enum: AGENT_TYPES }) type: AgentType;
  @ApiProperty() name: string;
  @ApiProperty() description: string;
  @ApiProperty({ type: [AgentStepInfoDto] }) steps: AgentStepInfoDto[];
  @ApiProperty({ example: ['admin', 'product_manager'] }) activatedBy: string[];
  /** Kinds of the project's documents it reads (the newest of each, the task's own first) */
  @ApiProperty({ example: ['prd'] }) consumes: string[];
  @ApiProperty({ description: 'Whether the caller may activate it' }) canActivate: boolean;
}

export class AgentListDto {
  @ApiProperty({ type: [AgentInfoDto] }) data: AgentInfoDto[];
}

export class ActivationAcceptedDto {
  @ApiProperty({ example: 'act_prod2026031401' }) activationId: string;
  @ApiProperty({ enum: AGENT_TYPES }) agentType: AgentType;
  @ApiProperty({ example: 'task_ecom001' }) taskId: string;
  @ApiProperty({ enum: ACTIVATION_STATUSES }) status: ActivationStatus;
  @ApiProperty({ example: '2026-03-14T12:00:00Z' }) estimatedCompletionTime: string;
  @ApiProperty({ example: '/agents/activations/act_prod2026031401/progress' }) progressUrl: string;
}

export class StepProgressDto {
  @ApiProperty({ example: '需求解析' }) name: string;
  @ApiProperty({ enum: ['pending', 'in_progress', 'completed', 'failed', 'cancelled'] }) status: string;
  @ApiProperty({ example: 100 }) progress: number;
}

export class ActivationLogDto {
  @ApiProperty() timestamp: string;
  @ApiProperty({ enum: ['info', 'warn', 'error'] }) level: string;
  @ApiProperty() message: string;
}

export class ActivationProgressDto {
  @ApiProperty() activationId: string;
  @ApiProperty({ enum: AGENT_TYPES }) agentType: AgentType;
  @ApiProperty({ enum: ACTIVATION_STATUSES }) status: ActivationStatus;
  @ApiProperty({ example: 65 }) progress: number;
  @ApiProperty({ nullable: true, type: String, example: '生成验收标准' }) currentStep: string | null;
  @ApiProperty({ type: [StepProgressDto] }) steps: StepProgressDto[];
  @ApiProperty({ type: Object }) intermediateResults: Record<string, unknown>;
  @ApiProperty({ type: [ActivationLogDto] }) logs: ActivationLogDto[];
}

export class DocumentRefDto {
  @ApiProperty({ example: 'doc_0123456789abcdef' }) id: string;
  @ApiProperty({ example: 'prd' }) kind: string;
  @ApiProperty({ example: 2 }) version: number;
  @ApiProperty() title: string;
}

export class ActivationResultDto {
  @ApiProperty() activationId: string;
  @ApiProperty({ enum: ACTIVATION_STATUSES }) status: ActivationStatus;
  @ApiProperty({ type: Object, nullable: true }) output: Record<string, unknown> | null;
  @ApiProperty({
    type: Object,
    example: {
      executionTime: 1847,
      tokensUsed: 15234,
      model: 'claude-sonnet-4-20250514',
      inputTokens: 11020,
      outputTokens: 4214,
      cacheReadTokens: 0,
      costUsd: 0.09627,
      numTurns: 0,
    },
  })
  metrics: {
    executionTime: number | null;
    tokensUsed: number;
    model: string | null;
    inputTokens: number;
    outputTokens: number;
    cacheReadTokens: number;
    costUsd: number;
    /** Model turns of a code activation's Claude Code sessions (0 otherwise) */
    numTurns: number;
  };
  /** The upstream documents the agent read (fixed when it was activated) */
  @ApiProperty({ type: [DocumentRefDto] }) documents: DocumentRefDto[];
  @ApiProperty({ nullable: true, type: String }) completedAt: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) error?: string | null;
}

export class ActivationSummaryDto {
  @ApiProperty() activationId: string;
  @ApiProperty({ enum: AGENT_TYPES }) agentType: AgentType;
  @ApiProperty() taskId: string;
  @ApiProperty() projectId: string;
  @ApiProperty({ enum: ACTIVATION_STATUSES }) status: ActivationStatus;
  @ApiProperty() progress: number;
  @ApiProperty({ nullable: true, type: String }) currentStep: string | null;
  @ApiProperty({ nullable: true, type: String }) requestedBy: string | null;
  @ApiProperty() provider: string;
  @ApiProperty({ nullable: true, type: String }) error: string | null;
  @ApiProperty() createdAt: string;
  @ApiProperty({ nullable: true, type: String }) completedAt: string | null;
}

export class ProjectDocumentDto {
  @ApiProperty({ example: 'doc_0k2j4h5g6f7d8s9a' }) id: string;
  @ApiProperty() projectId: string;
  @ApiProperty({ nullable: true, type: String }) taskId: string | null;
  @ApiProperty() activationId: string;
  @ApiProperty({ example: 'prd' }) kind: string;
  /** 1, 2, ...: the task's documents of this kind in the order they were written; older ones stay readable */
  @ApiProperty({ example: 1 }) version: number;
  @ApiProperty() title: string;
  @ApiProperty({ enum: ['markdown', 'json'] }) format: string;
  @ApiPropertyOptional({ description: 'In the single-document view' }) content?: string;
  @ApiProperty({ nullable: true, type: String }) createdBy: string | null;
  @ApiProperty() createdAt: string;
}

export class ListDocumentsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ example: 'prd' }) @IsOptional() @IsString() @MaxLength(32) kind?: string;
}

export class UsageQueryDto {
  @ApiPropertyOptional({
    format: 'date-time',
    description: 'From this instant (inclusive); default: the first day of this month, 00:00 UTC',
  })
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Before this instant; default: now' })
  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;
}

export class UsageLineDto {
  @ApiProperty({ example: '2026-12-06', description: 'UTC day the activations were requested' }) day: string;
  @ApiProperty({ enum: AGENT_TYPES }) agentType: AgentType;
  @ApiProperty({ nullable: true, type: String, example: 'claude-sonnet-4-20250514' }) model: string | null;
  @ApiProperty({ type: 'integer', example: 3 }) activations: number;
  @ApiProperty({ type: 'integer' }) inputTokens: number;
  @ApiProperty({ type: 'integer' }) outputTokens: number;
  @ApiProperty({ type: 'integer' }) cacheReadTokens: number;
  @ApiProperty({ type: 'integer' }) tokensUsed: number;
  @ApiProperty({ example: 0.2884 }) costUsd: number;
}

export class UsageTotalsDto {
  @ApiProperty({ type: 'integer' }) activations: number;
  @ApiProperty({ type: 'integer' }) inputTokens: number;
  @ApiProperty({ type: 'integer' }) outputTokens: number;
  @ApiProperty({ type: 'integer' }) cacheReadTokens: number;
  @ApiProperty({ type: 'integer' }) tokensUsed: number;
  @ApiProperty() costUsd: number;
}

export class ProjectUsageDto {
  @ApiProperty() projectId: string;
  @ApiProperty({ format: 'date-time' }) from: string;
  @ApiProperty({ format: 'date-time' }) to: string;
  @ApiProperty({ type: UsageTotalsDto }) totals: UsageTotalsDto;
  @ApiProperty({ type: [UsageLineDto], description: 'By UTC day, agent type and model' })
  lines: UsageLineDto[];
}
