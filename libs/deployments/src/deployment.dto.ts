import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { iso, PageQueryDto } from '@app/core';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
} from 'class-validator';
import { ApprovalStatus } from './approval-state';
import {
  Colour,
  DEPLOYMENT_STATUSES,
  DeploymentStatus,
  ENVIRONMENTS,
  Environment,
  progressOf,
  STEP_ACTIONS,
  STEP_STATUSES,
  StepAction,
  StepStatus,
  STRATEGIES,
  Strategy,
} from './deployment-plan';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
const enumMessage = (name: string, values: readonly string[]) => ({
  message: `${name} must be one of ${values.join(', ')}`,
});
/** Versions reach scripts and receivers: letters, digits and . _ + - only. */
const VERSION = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$/;
const VERSION_MESSAGE = {
  message: 'version must be 1-100 letters, digits, ".", "_", "+" or "-", starting with a letter or digit',
};

export class CreateDeploymentDto {
  @ApiProperty({ example: 'app_k3j9x0a1b2c3d4e5' })
  @IsString()
  @MaxLength(40)
  applicationId: string;

  @ApiProperty({ enum: ENVIRONMENTS, example: 'prod' })
  @IsIn(ENVIRONMENTS, enumMessage('environment', ENVIRONMENTS))
  environment: Environment;

  @ApiProperty({ example: 'v2.3.1' })
  @IsString()
  @Matches(VERSION, VERSION_MESSAGE)
  version: string;

  @ApiPropertyOptional({ enum: STRATEGIES, default: 'rolling' })
  @IsOptional()
  @IsIn(STRATEGIES, enumMessage('strategy', STRATEGIES))
  strategy?: Strategy;

  /** User ids who must all approve before it runs; required for prod; never the requester. */
  @ApiPropertyOptional({ type: [String], example: ['usr_abc123def456', 'usr_xyz789ghi012'] })
  @IsOptional()
  @IsArray()
  @ArrayUnique()
  @ArrayMaxSize(10)
  @IsString({ each: true })
  @MaxLength(40, { each: true })
  approvals?: string[];
}

export class RollbackDeploymentDto {
  /** Default: the last version that succeeded in the environment before this deployment. */
  @ApiPropertyOptional({ example: 'v2.3.0' })
  @IsOptional()
  @IsString()
  @Matches(VERSION, { message: VERSION_MESSAGE.message.replace('version', 'targetVersion') })
  targetVersion?: string;

  @ApiProperty({ example: '支付接口错误率升高' })
  @Transform(trim)
  @IsString()
  @IsNotEmpty()
  @MaxLength(2000)
  reason: string;
}

export class ApproveDeploymentDto {
  @ApiPropertyOptional({ example: '已确认变更窗口' })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  comment?: string;
}

export class RejectDeploymentDto {
  @ApiProperty({ example: '发布窗口冲突' })
  @Transform(trim)
  @IsString()
  @IsNotEmpty()
  @MaxLength(2000)
  reason: string;
}

export const DEPLOYMENT_SORT_FIELDS = ['createdAt', 'startedAt', 'finishedAt'] as const;

export class ListDeploymentsQueryDto extends PageQueryDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(40)
  applicationId?: string;

  @ApiPropertyOptional({ enum: ENVIRONMENTS })
  @IsOptional()
  @IsIn(ENVIRONMENTS, enumMessage('environment', ENVIRONMENTS))
  environment?: Environment;

  @ApiPropertyOptional({ enum: DEPLOYMENT_STATUSES })
  @IsOptional()
  @IsIn(DEPLOYMENT_STATUSES, enumMessage('status', DEPLOYMENT_STATUSES))
  status?: DeploymentStatus;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(40)
  projectId?: string;

  @ApiPropertyOptional({ enum: DEPLOYMENT_SORT_FIELDS, default: 'createdAt' })
  @IsOptional()
  @IsIn(DEPLOYMENT_SORT_FIELDS, enumMessage('sortBy', DEPLOYMENT_SORT_FIELDS))
  sortBy: (typeof DEPLOYMENT_SORT_FIELDS)[number] = 'createdAt';
}

export class DeploymentApprovalDto {
  @ApiProperty() userId: string;
  @ApiProperty({ enum: ['pending', 'approved', 'rejected'] }) status: ApprovalStatus;
  @ApiProperty({ nullable: true, type: String }) comment: string | null;
  @ApiProperty({ nullable: true, type: String }) decidedAt: string | null;
}

export class DeploymentStepDto {
  @ApiProperty({ example: 'canary-10' }) name: string;
  @ApiProperty({ enum: STEP_ACTIONS }) action: StepAction;
  /** `restore` steps undo a failed rollout. */
  @ApiProperty({ enum: ['rollout', 'restore'] }) phase: 'rollout' | 'restore';
  /** Share of instances or traffic the step's version has once it is done. */
  @ApiProperty({ example: 10 }) percent: number;
  @ApiProperty({ nullable: true, enum: ['blue', 'green'] }) colour: Colour | null;
  @ApiProperty({ example: 'v2.3.1' }) version: string;
  @ApiProperty({ enum: STEP_STATUSES }) status: StepStatus;
  @ApiProperty() attempts: number;
  @ApiProperty({ nullable: true, type: String }) startedAt: string | null;
  @ApiProperty({ nullable: true, type: String }) finishedAt: string | null;
  /** Seconds */
  @ApiProperty({ nullable: true, type: Number }) duration: number | null;
  /** The tail of the target's output */
  @ApiProperty({ nullable: true, type: String }) output: string | null;
  @ApiProperty({ nullable: true, type: String }) error: string | null;
}

export class DeploymentDto {
  @ApiProperty({ example: 'dep_k3j9x0a1b2c3d4e5' }) deploymentId: string;
  @ApiProperty() applicationId: string;
  @ApiProperty() projectId: string;
  @ApiProperty({ enum: ENVIRONMENTS }) environment: Environment;
  @ApiProperty({ example: 'v2.3.1' }) version: string;
  @ApiProperty({ enum: STRATEGIES }) strategy: Strategy;
  @ApiProperty({ enum: DEPLOYMENT_STATUSES }) status: DeploymentStatus;
  @ApiProperty({ nullable: true, type: String }) requestedBy: string | null;
  @ApiProperty({ type: [DeploymentApprovalDto] }) approvals: DeploymentApprovalDto[];
  /** Share of the rollout steps done, 0-100 */
  @ApiProperty({ example: 40 }) progress: number;
  @ApiProperty({ nullable: true, type: String, example: 'health-check-10' }) currentStep: string | null;
  @ApiProperty({ type: [DeploymentStepDto] }) steps: DeploymentStepDto[];
  /** What was live in the environment when it started */
  @ApiProperty({ nullable: true, type: String }) previousVersion: string | null;
  /** A rollback: the deployment it rolled back */
  @ApiProperty({ nullable: true, type: String }) rollbackOf: string | null;
  @ApiProperty({ nullable: true, type: String }) rollbackReason: string | null;
  /** Set once rolled back: the rollback deployment */
  @ApiProperty({ nullable: true, type: String }) rolledBackBy: string | null;
  /** Why it failed or was rejected */
  @ApiProperty({ nullable: true, type: String }) failureReason: string | null;
  @ApiProperty() createdAt: string;
  @ApiProperty({ nullable: true, type: String }) queuedAt: string | null;
  @ApiProperty({ nullable: true, type: String }) startedAt: string | null;
  @ApiProperty({ nullable: true, type: String }) finishedAt: string | null;
  @ApiProperty() updatedAt: string;
}

export interface DeploymentRow {
  id: string;
  application_id: string;
  project_id: string;
  environment: Environment;
  version: string;
  strategy: Strategy;
  status: DeploymentStatus;
  requested_by: string | null;
  rollback_of: string | null;
  rollback_reason: string | null;
  rolled_back_by: string | null;
  previous_version: string | null;
  previous_colour: Colour | null;
  failure_reason: string | null;
  runs: number;
  created_at: Date;
  queued_at: Date | null;
  started_at: Date | null;
  finished_at: Date | null;
  updated_at: Date;
}

export interface DeploymentStepRow {
  deployment_id: string;
  position: number;
  name: string;
  action: StepAction;
  phase: 'rollout' | 'restore';
  percent: number;
  colour: Colour | null;
  version: string;
  status: StepStatus;
  attempts: number;
  output: string | null;
  error: string | null;
  started_at: Date | null;
  finished_at: Date | null;
}

export interface DeploymentApprovalRow {
  deployment_id: string;
  user_id: string;
  position: number;
  status: ApprovalStatus;
  comment: string | null;
  decided_at: Date | null;
}

export function mapStep(s: DeploymentStepRow): DeploymentStepDto {
  return {
    name: s.name,
    action: s.action,
    phase: s.phase,
    percent: s.percent,
    colour: s.colour,
    version: s.version,
    status: s.status,
    attempts: s.attempts,
    startedAt: iso(s.started_at),
    finishedAt: iso(s.finished_at),
    duration:
      s.started_at && s.finished_at
        ? Math.round((s.finished_at.getTime() - s.started_at.getTime()) / 100) / 10
        : null,
    output: s.output,
    error: s.error,
  };
}

/** `steps` and `approvals` of this deployment, in order. */
export function mapDeployment(
  d: DeploymentRow,
  steps: DeploymentStepRow[],
  approvals: DeploymentApprovalRow[],
): DeploymentDto {
  const own = steps.filter((s) => s.deployment_id === d.id).sort((a, b) => a.position - b.position);
  return {
    deploymentId: d.id,
    applicationId: d.application_id,
    projectId: d.project_id,
    environment: d.environment,
    version: d.version,
    strategy: d.strategy,
    status: d.status,
    requestedBy: d.requested_by,
    approvals: approvals
      .filter((a) => a.deployment_id === d.id)
      .sort((a, b) => a.position - b.position)
      .map((a) => ({
        userId: a.user_id,
        status: a.status,
        comment: a.comment,
        decidedAt: iso(a.decided_at),
      })),
    progress: progressOf(own),
    currentStep: own.find((s) => s.status === 'running')?.name ?? null,
    steps: own.map(mapStep),
    previousVersion: d.previous_version,
    rollbackOf: d.rollback_of,
    rollbackReason: d.rollback_reason,
    rolledBackBy: d.rolled_back_by,
    failureReason: d.failure_reason,
    createdAt: iso(d.created_at),
    queuedAt: iso(d.queued_at),
    startedAt: iso(d.started_at),
    finishedAt: iso(d.finished_at),
    updatedAt: iso(d.updated_at),
  };
}
