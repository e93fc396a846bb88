import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { PageQueryDto } from '@app/core';
import { IsBoolean, IsIn, IsOptional } from 'class-validator';
import { CHANGE_STATUSES, ChangeStatus } from './change.entity';

export class ChangeCommitDto {
  @ApiProperty({ example: '3f2c9a0b1d4e5f60718293a4b5c6d7e8f9a0b1c2' }) sha: string;
  @ApiProperty({ example: 'Add the login endpoint' }) message: string;
  @ApiProperty({ example: 'Backend Agent <backend-agent@cocode.local>' }) author: string;
}

export class DiffStatDto {
  @ApiProperty({ example: 3 }) files: number;
  @ApiProperty({ example: 120 }) additions: number;
  @ApiProperty({ example: 4 }) deletions: number;
}

/** The latest test run of the head commit in the project. */
export class ChangeTestSummaryDto {
  @ApiProperty() runId: string;
  @ApiProperty({ enum: ['queued', 'running', 'passed', 'failed', 'error'] }) status: string;
  @ApiProperty({ nullable: true, type: Number }) total: number | null;
  @ApiProperty({ nullable: true, type: Number }) passed: number | null;
  @ApiProperty({ nullable: true, type: Number }) failed: number | null;
  @ApiProperty({ nullable: true, type: Number }) skipped: number | null;
}

export class ChangeDto {
  @ApiProperty({ example: 'chg_k3j9x0a1b2c3d4e5' }) id: string;
  @ApiProperty() projectId: string;
  @ApiProperty({ nullable: true, type: String }) taskId: string | null;
  @ApiProperty({ nullable: true, type: String }) activationId: string | null;
  @ApiProperty({ example: 'cocode/ECOM-12-backend-1' }) branch: string;
  @ApiProperty({ example: 'main' }) baseBranch: string;
  @ApiProperty() baseSha: string;
  @ApiProperty() headSha: string;
  /** `git log base..head`, newest first */
  @ApiProperty({ type: [ChangeCommitDto] }) commits: ChangeCommitDto[];
  @ApiProperty({ type: DiffStatDto }) diffStat: DiffStatDto;
  @ApiProperty({ enum: CHANGE_STATUSES }) status: ChangeStatus;
  /** The latest build of the project whose commit is headSha (else the build named at opening) */
  @ApiProperty({ nullable: true, type: String }) buildId: string | null;
  @ApiProperty({
    nullable: true,
    enum: ['queued', 'running', 'success', 'failed', 'cancelled'],
    type: String,
  })
  buildStatus: string | null;
  @ApiProperty({ nullable: true, type: ChangeTestSummaryDto }) testSummary: ChangeTestSummaryDto | null;
  @ApiProperty() createdAt: string;
  @ApiProperty() updatedAt: string;
  /** Set while an accepted merge is queued or running */
  @ApiProperty({ nullable: true, type: String }) mergeRequestedAt: string | null;
  /** Why the last merge failed (a conflict, a refused push); the change stays open */
  @ApiProperty({ nullable: true, type: String }) mergeError: string | null;
  /** What the base branch points at after the merge */
  @ApiProperty({ nullable: true, type: String }) mergeSha: string | null;
  @ApiProperty({ nullable: true, type: String }) mergedAt: string | null;
  @ApiProperty({ nullable: true, type: String }) mergedBy: string | null;
  @ApiProperty({ nullable: true, type: String }) closedAt: string | null;
  @ApiProperty({ nullable: true, type: String }) closedBy: string | null;
  /** True when the stored diff was cut at its size limit */
  @ApiProperty() diffTruncated: boolean;
}

export class ListChangesQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: CHANGE_STATUSES })
  @IsOptional()
  @IsIn(CHANGE_STATUSES, { message: `status must be one of ${CHANGE_STATUSES.join(', ')}` })
  status?: ChangeStatus;
}

export class MergeChangeDto {
  /** Administrators only: merge although the latest build of the head is not `success` */
  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsBoolean()
  force?: boolean;
}
