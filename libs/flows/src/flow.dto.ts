import { ApiProperty, ApiPropertyOptional, PickType } from '@nestjs/swagger';
import { AGENT_TYPES, AgentConfigDto, AgentType, DocumentRefDto } from '@app/agents';
import { CreateDeploymentDto, ENVIRONMENTS } from '@app/deployments';
import { PageQueryDto } from '@app/core';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsOptional,
  IsString,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { FLOW_STATUSES, FlowStatus } from './flow.entity';

export const DEFAULT_STAGES: AgentType[] = ['product', 'architecture', 'api', 'backend', 'test', 'devops'];
export const DEFAULT_GATES = ['product', 'merge'];
const GATE_NAMES = [...AGENT_TYPES, 'merge'];

/** Where the flow deploys its merged commit: a deployment's application, environment and approvers (prod needs them, never the flow's creator). */
export class DeployToDto extends PickType(CreateDeploymentDto, [
  'applicationId',
  'environment',
  'approvals',
] as const) {}

export class StartFlowDto {
  /** The agents in order (default product, architecture, api, backend, test, devops) */
  @ApiPropertyOptional({ enum: AGENT_TYPES, isArray: true, example: DEFAULT_STAGES })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(AGENT_TYPES.length)
  @IsIn(AGENT_TYPES, { each: true, message: `each stage must be one of ${AGENT_TYPES.join(', ')}` })
  stages?: AgentType[];

  /** Stages after which a person approves before the flow goes on, and `merge` before merging */
  @ApiPropertyOptional({ isArray: true, type: String, example: DEFAULT_GATES })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(GATE_NAMES.length)
  @IsIn(GATE_NAMES, { each: true, message: `each gate must be a stage name or merge` })
  gates?: string[];

  /** After the merge, deploy the merged commit there (through the deployments module) */
  @ApiPropertyOptional({ type: DeployToDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => DeployToDto)
  deployTo?: DeployToDto;

  /** Passed to each stage's activation (provider, model, budget...) */
  @ApiPropertyOptional({ type: AgentConfigDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => AgentConfigDto)
  config?: AgentConfigDto;
}

export class FlowCommentDto {
  /** Reaches the next stage's prompt as feedback (approve), or says why (reject) */
  @ApiPropertyOptional({ example: 'Keep the API small.' })
  @IsOptional()
  @IsString()
  @MaxLength(4000)
  comment?: string;
}

export class ListFlowsQueryDto extends PageQueryDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(40) taskId?: string;
  @ApiPropertyOptional({ enum: FLOW_STATUSES })
  @IsOptional()
  @IsIn(FLOW_STATUSES, { message: `status must be one of ${FLOW_STATUSES.join(', ')}` })
  status?: FlowStatus;
}

export class FlowBuildDto {
  @ApiProperty() buildId: string;
  @ApiProperty({ nullable: true, type: String, example: 'success' }) status: string | null;
}

export class FlowStageDto {
  @ApiProperty({ example: 'product' }) name: string;
  @ApiProperty({ enum: ['pending', 'running', 'completed', 'failed', 'cancelled'] }) status: string;
  @ApiProperty({ nullable: true, type: String }) activationId: string | null;
  @ApiProperty({ nullable: true, type: String }) changeId: string | null;
  @ApiProperty({ nullable: true, type: String }) feedback: string | null;
  @ApiProperty({ nullable: true, type: String }) startedAt: string | null;
  @ApiProperty({ nullable: true, type: String }) completedAt: string | null;
  @ApiProperty({ nullable: true, type: String }) error: string | null;
  /** The upstream documents the stage's agent read */
  @ApiProperty({ type: [DocumentRefDto] }) documents: DocumentRefDto[];
  /** The document the stage's agent wrote (document stages) */
  @ApiProperty({ nullable: true, type: DocumentRefDto }) document: DocumentRefDto | null;
  /** The build of the stage's change (code stages) */
  @ApiProperty({ nullable: true, type: FlowBuildDto }) build: FlowBuildDto | null;
  /** What the stage's activation spent so far */
  @ApiProperty({ example: 0.0123 }) costUsd: number;
}

export class FlowDeploymentDto {
  @ApiProperty() deploymentId: string;
  @ApiProperty({ enum: ENVIRONMENTS }) environment: string;
  @ApiProperty() applicationId: string;
  /** The merged commit (12 hex digits) */
  @ApiProperty({ example: '3f2c9a0b1d4e' }) version: string;
  /** As last seen by the flow */
  @ApiProperty({ example: 'succeeded' }) status: string;
}

export class FlowDto {
  @ApiProperty({ example: 'flow_0123456789abcdef' }) flowId: string;
  @ApiProperty() projectId: string;
  @ApiProperty() taskId: string;
  @ApiProperty({ enum: FLOW_STATUSES }) status: FlowStatus;
  @ApiProperty({ type: [FlowStageDto] }) stages: FlowStageDto[];
  /** The gate the flow waits at (a stage name, or merge) */
  @ApiProperty({ nullable: true, type: String }) gate: string | null;
  @ApiProperty({ type: [String] }) gates: string[];
  /** The first change the flow's stages opened */
  @ApiProperty({ nullable: true, type: String }) changeId: string | null;
  /** Every change the flow's stages opened (backend and frontend each open one), merged in this order */
  @ApiProperty({ type: [String] }) changeIds: string[];
  @ApiProperty({ nullable: true, type: DeployToDto }) deployTo: DeployToDto | null;
  @ApiProperty({ nullable: true, type: FlowDeploymentDto }) deployment: FlowDeploymentDto | null;
  /** What the flow's activations spent so far (stages run again included) */
  @ApiProperty({ example: 0.0456 }) costUsd: number;
  @ApiProperty({ nullable: true, type: String }) error: string | null;
  @ApiProperty() createdBy: string;
  @ApiProperty() createdAt: string;
  @ApiProperty() updatedAt: string;
  @ApiProperty({ nullable: true, type: String }) completedAt: string | null;
  @ApiProperty({ example: '/v2/flows/flow_0123456789abcdef' }) progressUrl: string;
}
