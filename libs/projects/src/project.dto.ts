import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { AtMostTwoDecimals, IsBranchName, IsGitUrl, iso, PageQueryDto, redactUrl } from '@app/core';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsEnum,
  IsIn,
  IsNotEmpty,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { ProjectMemberEntity, ProjectMemberRole } from './project-member.entity';
import { ProjectStatsEntity } from './project-stats.entity';
import { ProjectEntity, ProjectStatus, ProjectVisibility } from './project.entity';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
export const PROJECT_KEY = /^[A-Z0-9]{2,10}$/;

export class CreateProjectDto {
  @ApiProperty({ example: '电商后台管理系统' })
  @Transform(trim)
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name: string;

  @ApiPropertyOptional({ example: '新一代电商后台管理平台' })
  @IsOptional()
  @IsString()
  @MaxLength(10000)
  description?: string;

  /** 2-10 upper-case letters or digits; task keys are KEY-1, KEY-2, ... */
  @ApiProperty({ example: 'ECOM' })
  @IsString()
  @Matches(PROJECT_KEY, { message: 'key must be 2-10 upper-case letters or digits' })
  key: string;

  @ApiProperty({ example: 'usr_abc123def456' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(40)
  ownerId: string;

  @ApiPropertyOptional({ example: ['usr_xyz789ghi012'], type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayUnique()
  @ArrayMaxSize(200)
  @IsString({ each: true })
  members?: string[];

  @ApiPropertyOptional({ enum: ProjectVisibility, default: ProjectVisibility.Private })
  @IsOptional()
  @IsEnum(ProjectVisibility, { message: 'visibility must be one of private, internal, public' })
  visibility?: ProjectVisibility;
}

export const DEFAULT_BRANCH = 'main';
/** The user name sent with a token when none is given (GitHub's; GitLab and others take any). */
export const DEFAULT_CREDENTIALS_USERNAME = 'x-access-token';

/** HTTP basic credentials for an https:// repository; write-only: never shown back or logged. */
export class RepositoryCredentialsDto {
  /** Default x-access-token (GitHub); GitLab takes any name with a personal access token, or oauth2 */
  @ApiPropertyOptional({ example: 'ci-bot', default: DEFAULT_CREDENTIALS_USERNAME, maxLength: 200 })
  @IsOptional()
  @IsString()
  @Matches(/^[^\s:@/]{1,200}$/, {
    message: 'username must be 1-200 characters without spaces, ":", "@" or "/"',
  })
  username?: string;

  /** A personal access token, deploy token or password */
  @ApiProperty({ example: 'glpat-xxxxxxxxxxxxxxxxxxxx', writeOnly: true, maxLength: 1000 })
  @IsString()
  @Matches(/^[^\s]{4,1000}$/, { message: 'token must be 4-1000 characters without spaces' })
  token: string;
}

/**
 * The project's repository. PUT replaces it as a whole, except the write-only credentials: left
 * out, the stored ones are kept while the URL stays on the same scheme, host and port.
 */
export class ProjectRepositoryInputDto {
  /** Git URL as pipelines take it, without a password (give it in credentials) */
  @ApiProperty({ example: 'https://git.example.com/acme/ecom.git', maxLength: 2048 })
  @IsString()
  @MaxLength(2048)
  @IsGitUrl()
  url: string;

  @ApiPropertyOptional({ example: 'main', default: DEFAULT_BRANCH })
  @IsOptional()
  @IsString()
  @IsBranchName()
  defaultBranch?: string;

  /** The project's main pipeline: one of this project's pipelines */
  @ApiPropertyOptional({ nullable: true, type: String, example: 'pipe_ecom_main' })
  @IsOptional()
  @IsString()
  @MaxLength(40)
  pipelineId?: string | null;

  /** Only with an https:// (or http://) URL. Left out: kept (same host); null: removed */
  @ApiPropertyOptional({ nullable: true, type: RepositoryCredentialsDto, writeOnly: true })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @ValidateNested()
  @Type(() => RepositoryCredentialsDto)
  credentials?: RepositoryCredentialsDto | null;
}

/** The key is fixed at creation (task keys carry it). */
export class UpdateProjectDto {
  @ApiPropertyOptional()
  @IsOptional()
  @Transform(trim)
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name?: string;

  /** null clears it */
  @ApiPropertyOptional({ nullable: true, type: String })
  @IsOptional()
  @IsString()
  @MaxLength(10000)
  description?: string | null;

  @ApiPropertyOptional({ enum: ProjectVisibility })
  @IsOptional()
  @IsEnum(ProjectVisibility, { message: 'visibility must be one of private, internal, public' })
  visibility?: ProjectVisibility;

  /** Hands the project to another user; the previous owner stays a member. */
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(40)
  ownerId?: string;

  /** USD the project's agent activations may spend per calendar month (UTC); null removes the limit */
  @ApiPropertyOptional({ nullable: true, type: Number, minimum: 0, maximum: 1000000, example: 200 })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @AtMostTwoDecimals()
  @Min(0)
  @Max(1000000)
  monthlyBudgetUsd?: number | null;

  /** Where the project's code is; its pipelines default to it. null removes it */
  @ApiPropertyOptional({ nullable: true, type: ProjectRepositoryInputDto })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @ValidateNested()
  @Type(() => ProjectRepositoryInputDto)
  repository?: ProjectRepositoryInputDto | null;
}

export const PROJECT_SORT_FIELDS = ['createdAt', 'updatedAt', 'name', 'key'] as const;

export class ListProjectsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: ProjectStatus })
  @IsOptional()
  @IsEnum(ProjectStatus, { message: 'status must be one of active, archived' })
  status?: ProjectStatus;

  /** The caller's relation to the project: owner, or member (not owner) */
  @ApiPropertyOptional({ enum: ['owner', 'member'] })
  @IsOptional()
  @IsIn(['owner', 'member'], { message: 'role must be one of owner, member' })
  role?: 'owner' | 'member';

  @ApiPropertyOptional({ enum: ProjectVisibility })
  @IsOptional()
  @IsEnum(ProjectVisibility, { message: 'visibility must be one of private, internal, public' })
  visibility?: ProjectVisibility;

  /** Matches name or key */
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(100)
  search?: string;

  @ApiPropertyOptional({ enum: PROJECT_SORT_FIELDS, default: 'createdAt' })
  @IsOptional()
  @IsIn(PROJECT_SORT_FIELDS, { message: `sortBy must be one of ${PROJECT_SORT_FIELDS.join(', ')}` })
  sortBy: (typeof PROJECT_SORT_FIELDS)[number] = 'createdAt';
}

export class AddMemberDto {
  @ApiProperty({ example: 'usr_xyz789ghi012' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(40)
  userId: string;

  /** Only `member`: ownership moves with PUT /projects/{projectId} {ownerId} */
  @ApiPropertyOptional({ enum: ['member'], default: 'member' })
  @IsOptional()
  @IsIn(['member'], { message: 'role must be member (transfer ownership with ownerId)' })
  role?: 'member';
}

export class ProjectMemberRefDto {
  @ApiProperty({ example: 'usr_abc123def456' }) userId: string;
  @ApiProperty({ enum: ['owner', 'member'] }) role: ProjectMemberRole;
}

export class ProjectStatsDto {
  @ApiProperty({ example: 0 }) totalTasks: number;
  @ApiProperty({ example: 0 }) completedTasks: number;
  @ApiProperty({ example: 0 }) totalPRDs: number;
  @ApiProperty({ example: 0 }) totalDeployments: number;
}

export class ProjectRepositoryDto {
  @ApiProperty({ example: 'https://git.example.com/acme/ecom.git' }) url: string;
  @ApiProperty({ example: 'main' }) defaultBranch: string;
  @ApiProperty({ nullable: true, type: String, example: 'pipe_ecom_main' }) pipelineId: string | null;
  /** Credentials are stored (encrypted); they are never shown */
  @ApiProperty({ example: true }) hasCredentials: boolean;
}

export class ProjectDto {
  @ApiProperty({ example: 'prj_ecom2026031401' }) id: string;
  @ApiProperty({ example: '电商后台管理系统' }) name: string;
  @ApiProperty({ example: 'ECOM' }) key: string;
  @ApiProperty({ nullable: true, type: String, example: '新一代电商后台管理平台' }) description:
    string | null;
  @ApiProperty({ example: 'usr_abc123def456' }) ownerId: string;
  @ApiProperty({ enum: ProjectStatus }) status: ProjectStatus;
  @ApiProperty({ enum: ProjectVisibility }) visibility: ProjectVisibility;
  @ApiProperty({ type: [ProjectMemberRefDto] }) members: ProjectMemberRefDto[];
  @ApiProperty({ type: ProjectStatsDto }) stats: ProjectStatsDto;
  /** null: no repository; pipelines then name their own */
  @ApiProperty({ type: ProjectRepositoryDto, nullable: true }) repository: ProjectRepositoryDto | null;
  /** USD per calendar month (UTC) the agents may spend; null: no limit */
  @ApiProperty({ type: Number, nullable: true, example: 200 }) monthlyBudgetUsd: number | null;
  @ApiProperty({ example: '2026-03-14T11:00:00Z' }) createdAt: string;
  @ApiProperty({ example: '2026-03-14T11:00:00Z' }) updatedAt: string;
}

export class ProjectMemberDto {
  @ApiProperty() userId: string;
  @ApiProperty({ enum: ['owner', 'member'] }) role: ProjectMemberRole;
  @ApiProperty() username: string;
  @ApiProperty() fullName: string;
  @ApiProperty() addedAt: string;
}

const EMPTY_STATS = { totalTasks: 0, completedTasks: 0, totalPRDs: 0, totalDeployments: 0 };

export function mapProject(
  p: ProjectEntity,
  members: ProjectMemberEntity[],
  stats: ProjectStatsEntity | null | undefined,
): ProjectDto {
  // Owner first, then members in the order they joined (the seed's example order).
  const sorted = [...members].sort((a, b) =>
    a.role === b.role ? a.addedAt.getTime() - b.addedAt.getTime() : a.role === 'owner' ? -1 : 1,
  );
  return {
    id: p.id,
    name: p.name,
    key: p.key,
    description: p.description,
    ownerId: p.ownerId,
    status: p.status,
    visibility: p.visibility,
    members: sorted.map((m) => ({ userId: m.userId, role: m.role })),
    stats: stats
      ? {
          totalTasks: stats.totalTasks,
          completedTasks: stats.completedTasks,
          totalPRDs: stats.totalPrds,
          totalDeployments: stats.totalDeployments,
        }
      : EMPTY_STATS,
    repository: p.repositoryUrl
      ? {
          url: redactUrl(p.repositoryUrl),
          defaultBranch: p.repositoryDefaultBranch ?? DEFAULT_BRANCH,
          pipelineId: p.repositoryPipelineId,
          hasCredentials: Boolean(p.repositoryCredentials),
        }
      : null,
    monthlyBudgetUsd: p.monthlyBudgetUsd ?? null,
    createdAt: iso(p.createdAt),
    updatedAt: iso(p.updatedAt),
  };
}
