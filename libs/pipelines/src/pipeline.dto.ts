import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBranchName, IsGitUrl, PageQueryDto } from '@app/core';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateBy,
  ValidateIf,
  ValidateNested,
  ValidationOptions,
} from 'class-validator';
import { CHECKOUT_STAGE } from './build.entity';
import { globProblem, SANDBOX_NETWORKS, SandboxNetwork } from '@app/runner';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export const IsArtifactGlob = (options?: ValidationOptions) =>
  ValidateBy(
    {
      name: 'isArtifactGlob',
      validator: {
        validate: (v) => typeof v === 'string' && globProblem(v) === null,
        defaultMessage: (args) =>
          `artifact glob "${String(args?.value)}" ${typeof args?.value === 'string' ? globProblem(args.value) : 'must be a string'}`,
      },
    },
    options,
  );

/** Stage names are unique and `checkout` is the platform's own first stage. */
export const HasUniqueStageNames = (options?: ValidationOptions) =>
  ValidateBy(
    {
      name: 'hasUniqueStageNames',
      validator: {
        validate: (v) => {
          if (!Array.isArray(v)) return true;
          const names = v.map((s: { name?: unknown }) => String(s?.name ?? '').toLowerCase());
          return new Set(names).size === names.length && !names.includes(CHECKOUT_STAGE);
        },
      },
    },
    {
      message: `stage names must be unique, and "${CHECKOUT_STAGE}" is reserved (the platform checks the code out first)`,
      ...options,
    },
  );

export class StageDto {
  @ApiProperty({ example: 'build' })
  @Transform(trim)
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$/, {
    message: 'name must be 1-64 letters, digits, spaces, "_", "." or "-"',
  })
  name: string;

  @ApiProperty({ type: [String], example: ['npm ci', 'npm run build'] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @IsString({ each: true })
  @IsNotEmpty({ each: true })
  @MaxLength(10000, { each: true })
  commands: string[];

  /** The whole stage is killed (with everything it started) after this long; default BUILDS_STAGE_TIMEOUT_SECONDS */
  @ApiPropertyOptional({ type: 'integer', example: 600, minimum: 1, maximum: 86400 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(86400)
  timeoutSeconds?: number;
}

export class CreatePipelineDto {
  @ApiProperty({ example: 'prj_ecom2026031401' })
  @IsString()
  @MaxLength(40)
  projectId: string;

  @ApiProperty({ example: 'ecom-main' })
  @Transform(trim)
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(5000)
  description?: string;

  /** Left out: the pipeline follows its project's repository (which must be set), URL and credentials, also when they change later */
  @ApiPropertyOptional({ example: 'https://git.example.com/acme/ecom.git' })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  @IsGitUrl()
  repositoryUrl?: string;

  /** Left out: the project's repository's default branch when following it, else main */
  @ApiPropertyOptional({ default: 'main' })
  @IsOptional()
  @IsString()
  @IsBranchName()
  defaultBranch?: string;

  @ApiProperty({ type: [StageDto] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(50)
  @ValidateNested({ each: true })
  @Type(() => StageDto)
  @HasUniqueStageNames()
  stages: StageDto[];

  /** Globs, relative to the checkout, of the files kept after a successful build */
  @ApiPropertyOptional({ type: [String], example: ['target/*.jar'] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @ArrayUnique()
  @IsArtifactGlob({ each: true })
  artifacts?: string[];

  /** Outbound network of the build's commands: none (the default), or the internet (never the platform's services, private or link-local addresses) */
  @ApiPropertyOptional({ enum: SANDBOX_NETWORKS, default: 'none' })
  @IsOptional()
  @IsIn(SANDBOX_NETWORKS, { message: `network must be one of ${SANDBOX_NETWORKS.join(', ')}` })
  network?: SandboxNetwork;
}

/** Every field optional; given stages or artifacts replace the old ones. Queued builds keep what they were triggered with. */
export class UpdatePipelineDto {
  @ApiPropertyOptional()
  @IsOptional()
  @Transform(trim)
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional({ nullable: true, type: String })
  @IsOptional()
  @IsString()
  @MaxLength(5000)
  description?: string | null;

  /** null: follow the project's repository from now on */
  @ApiPropertyOptional({ nullable: true, type: String })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsString()
  @MaxLength(2048)
  @IsGitUrl()
  repositoryUrl?: string | null;

  /** null: the project's repository's default branch (for a pipeline following it), else main */
  @ApiPropertyOptional({ nullable: true, type: String })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsString()
  @IsBranchName()
  defaultBranch?: string | null;

  @ApiPropertyOptional({ type: [StageDto] })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(50)
  @ValidateNested({ each: true })
  @Type(() => StageDto)
  @HasUniqueStageNames()
  stages?: StageDto[];

  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @ArrayUnique()
  @IsArtifactGlob({ each: true })
  artifacts?: string[];

  /** Outbound network of the build's commands: none (the default), or the internet (never the platform's services, private or link-local addresses) */
  @ApiPropertyOptional({ enum: SANDBOX_NETWORKS, default: 'none' })
  @IsOptional()
  @IsIn(SANDBOX_NETWORKS, { message: `network must be one of ${SANDBOX_NETWORKS.join(', ')}` })
  network?: SandboxNetwork;
}

export class ListPipelinesQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ example: 'prj_ecom2026031401' })
  @IsOptional()
  @IsString()
  @MaxLength(40)
  projectId?: string;

  /** Matches the name */
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(200)
  search?: string;
}

export class StageDefinitionDto {
  @ApiProperty({ example: 'build' }) name: string;
  @ApiProperty({ type: [String], example: ['npm ci', 'npm run build'] }) commands: string[];
  @ApiProperty({ example: 600 }) timeoutSeconds: number;
}

export class PipelineDto {
  @ApiProperty({ example: 'pipe_ecom_main' }) id: string;
  @ApiProperty({ example: 'prj_ecom2026031401' }) projectId: string;
  @ApiProperty({ example: 'ecom-main' }) name: string;
  @ApiProperty({ nullable: true, type: String }) description: string | null;
  /** Where builds check out from: the pipeline's own URL or its project's repository's (a password or token in it is shown as ***); null when it follows a project that has no repository */
  @ApiProperty({ example: 'https://git.example.com/acme/ecom.git', nullable: true, type: String })
  repositoryUrl: string | null;
  /** true: the pipeline has no URL of its own and follows its project's repository (URL, credentials, default branch) */
  @ApiProperty({ example: false }) repositoryFromProject: boolean;
  @ApiProperty({ example: 'main' }) defaultBranch: string;
  @ApiProperty({ type: [StageDefinitionDto] }) stages: StageDefinitionDto[];
  @ApiProperty({ type: [String], example: ['target/*.jar'] }) artifacts: string[];
  @ApiProperty({ enum: SANDBOX_NETWORKS, example: 'none' }) network: SandboxNetwork;
  @ApiProperty({ nullable: true, type: String }) createdBy: string | null;
  @ApiProperty({ example: '2026-03-14T11:00:00Z' }) createdAt: string;
  @ApiProperty({ example: '2026-03-14T11:00:00Z' }) updatedAt: string;
}
