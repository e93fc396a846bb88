import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBranchName, isCommitSha, PageQueryDto } from '@app/core';
import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  ValidateBy,
  ValidationOptions,
} from 'class-validator';
import {
  BUILD_STATUSES,
  BuildStage,
  BuildStatus,
  Environment,
  ENVIRONMENTS,
  STAGE_STATUSES,
  StageStatus,
} from './build.entity';
import type { SandboxNetwork } from '@app/runner';

export const MAX_VARIABLES = 100;
export const MAX_VARIABLE_LENGTH = 32 * 1024;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** What is wrong with a variables object, or null. */
export function variablesProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return 'variables must be an object of NAME: value';
  const entries = Object.entries(value);
  if (entries.length > MAX_VARIABLES) return `variables may hold at most ${MAX_VARIABLES} entries`;
  for (const [name, v] of entries) {
    if (!VARIABLE_NAME.test(name))
      return `variables.${name}: names are letters, digits and "_", not starting with a digit`;
    if (typeof v !== 'string') return `variables.${name} must be a string, number or boolean`;
    if (v.length > MAX_VARIABLE_LENGTH) return `variables.${name} is longer than ${MAX_VARIABLE_LENGTH}`;
    if (v.includes('\0')) return `variables.${name} contains a NUL character`;
  }
  return null;
}

const IsVariables = (options?: ValidationOptions) =>
  ValidateBy(
    {
      name: 'isVariables',
      validator: {
        validate: (v) => variablesProblem(v) === null,
        defaultMessage: (args) => variablesProblem(args?.value) ?? 'invalid variables',
      },
    },
    options,
  );

/** Numbers and booleans are written as environment variables are: as text. */
const scalarsToText = ({ value }: { value: unknown }) =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
    ? Object.fromEntries(
        Object.entries(value).map(([k, v]) => [
          k,
          typeof v === 'number' || typeof v === 'boolean' ? String(v) : v,
        ]),
      )
    : value;

export class TriggerBuildDto {
  /** Default: the pipeline's default branch */
  @ApiPropertyOptional({ example: 'main' })
  @IsOptional()
  @IsString()
  @IsBranchName()
  branch?: string;

  /** Check this commit out instead of the branch's head */
  @ApiPropertyOptional({ example: 'a1b2c3d4e5f6' })
  @IsOptional()
  @IsString()
  @ValidateBy(
    { name: 'isCommitSha', validator: { validate: (v) => typeof v === 'string' && isCommitSha(v) } },
    { message: 'commit must be 7-64 hexadecimal digits' },
  )
  commit?: string;

  /** Given to the commands as COCODE_ENVIRONMENT */
  @ApiPropertyOptional({ enum: ENVIRONMENTS })
  @IsOptional()
  @IsIn(ENVIRONMENTS, { message: `environment must be one of ${ENVIRONMENTS.join(', ')}` })
  environment?: Environment;

  /** Skip the stages named `test` */
  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsBoolean()
  skipTests?: boolean;

  /** Environment variables of the commands (they override the platform's); values of 4+ characters are masked in the log */
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { NODE_ENV: 'production' },
  })
  @IsOptional()
  @Transform(scalarsToText)
  @IsVariables()
  variables?: Record<string, string>;
}

export class TriggeredBuildDto {
  @ApiProperty({ example: 'build_20260314_120501' }) buildId: string;
  @ApiProperty({ example: 'pipe_ecom_main' }) pipelineId: string;
  @ApiProperty({ enum: BUILD_STATUSES, example: 'queued' }) status: BuildStatus;
  /** Builds queued before this one, still waiting */
  @ApiProperty({ example: 2 }) queuePosition: number;
  @ApiProperty({ example: 'usr_abc123def456' }) triggeredBy: string;
  @ApiProperty({ example: '2026-03-14T12:05:01Z' }) triggeredAt: string;
  /** From the running builds and the recent durations of the builds ahead */
  @ApiProperty({ example: '2026-03-14T12:07:00Z' }) estimatedStartTime: string;
}

export class BuildStageDto {
  @ApiProperty({ example: 'build' }) name: string;
  @ApiProperty({ enum: STAGE_STATUSES, example: 'success' }) status: StageStatus;
  /** Seconds (finished stages) */
  @ApiPropertyOptional({ example: 180 }) duration?: number;
  /** Running stage: share of its commands done */
  @ApiPropertyOptional({ example: 45 }) progress?: number;
  @ApiPropertyOptional({ example: '2026-03-14T12:07:15Z' }) startedAt?: string;
  @ApiPropertyOptional({ example: '2026-03-14T12:10:15Z' }) finishedAt?: string;
  /** Failed or cancelled stages: why */
  @ApiPropertyOptional({ example: 'command 2 exited with code 1' }) reason?: string;
}

export class BuildArtifactDto {
  @ApiProperty({ example: 'app.jar' }) name: string;
  /** Bytes */
  @ApiProperty({ example: 45678912 }) size: number;
  @ApiProperty({ example: 'https://api.example.com/v2/builds/build_20260314_120501/artifacts/app.jar' })
  url: string;
}

export class BuildLogLinksDto {
  /** The log as text; with Accept: text/event-stream, live */
  @ApiProperty() console: string;
  @ApiProperty({ nullable: true, type: String }) testReport: string | null;
}

/** How a build that lost its worker (killed, its lease run out) fails: nothing of its commands' doing. */
export const WORKER_STOPPED = 'the worker running the build stopped';

/** True for a build that failed because its worker stopped, not because of what it built. */
export function lostItsWorker(build: { status: string; error: string | null }): boolean {
  return build.status === 'failed' && !!build.error?.startsWith(WORKER_STOPPED);
}

export class BuildDto {
  @ApiProperty({ example: 'build_20260314_120501' }) buildId: string;
  @ApiProperty({ example: 'pipe_ecom_main' }) pipelineId: string;
  @ApiProperty({ example: 'prj_ecom2026031401' }) projectId: string;
  @ApiProperty({ enum: BUILD_STATUSES, example: 'running' }) status: BuildStatus;
  @ApiProperty({ nullable: true, type: String, example: 'test' }) currentStage: string | null;
  @ApiProperty({ example: 60 }) progress: number;
  /** While queued: builds ahead of it */
  @ApiProperty({ nullable: true, type: Number }) queuePosition: number | null;
  @ApiProperty({ example: 'main' }) branch: string;
  /** The commit checked out (or asked for, before the checkout) */
  @ApiProperty({ nullable: true, type: String }) commit: string | null;
  @ApiProperty({ nullable: true, enum: ENVIRONMENTS }) environment: Environment | null;
  @ApiProperty() skipTests: boolean;
  /** Names only: values are never shown */
  @ApiProperty({ type: [String] }) variables: string[];
  @ApiProperty({ nullable: true, type: String }) triggeredBy: string | null;
  @ApiProperty() triggeredAt: string;
  @ApiProperty({ nullable: true, type: String }) startedAt: string | null;
  @ApiProperty({ nullable: true, type: String }) finishedAt: string | null;
  /** Seconds */
  @ApiProperty({ nullable: true, type: Number }) duration: number | null;
  @ApiProperty({ type: [BuildStageDto] }) stages: BuildStageDto[];
  @ApiProperty({ type: [BuildArtifactDto] }) artifacts: BuildArtifactDto[];
  /** Outbound network of the commands: none, or the internet (never private addresses) */
  @ApiProperty({ enum: ['none', 'internet'], example: 'none' }) network: SandboxNetwork;
  @ApiProperty({ type: BuildLogLinksDto }) logs: BuildLogLinksDto;
  /** Why a failed build failed */
  @ApiProperty({ nullable: true, type: String }) error: string | null;
}

export class ListBuildsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: BUILD_STATUSES })
  @IsOptional()
  @IsIn(BUILD_STATUSES, { message: `status must be one of ${BUILD_STATUSES.join(', ')}` })
  status?: BuildStatus;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(255)
  @Matches(/^[^\s]+$/)
  branch?: string;
}

const seconds = (ms: number) => Math.round(ms) / 1000;

export function mapStage(s: BuildStage): BuildStageDto {
  const out: BuildStageDto = { name: s.name, status: s.status };
  if (s.status === 'running') {
    out.progress = s.commands.length ? Math.round(((s.commandsDone ?? 0) / s.commands.length) * 100) : 0;
  }
  if (s.durationMs !== undefined) out.duration = seconds(s.durationMs);
  if (s.startedAt) out.startedAt = s.startedAt;
  if (s.finishedAt) out.finishedAt = s.finishedAt;
  if (s.reason) out.reason = s.reason;
  return out;
}

export function artifactUrl(baseUrl: string, buildId: string, name: string): string {
  return `${baseUrl}/v2/builds/${buildId}/artifacts/${encodeURIComponent(name)}`;
}
